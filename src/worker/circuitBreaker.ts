import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../log.js';
import { ruleFor } from '../ocr/errorActions.js';
import { cardQueueKeys } from '../redisKeys.js';
import type { ResultsStore } from '../results/store.js';
import { liveWorkers, type WorkerBeat } from './heartbeat.js';
import type { RateLimiter } from './rateLimiter.js';

/** Why the queue is paused, as `status` shows it. */
export interface PauseReason {
  code: string;
  hint: string;
  runId: string | undefined;
  at: string;
  /** For the API's refusals: the SecretId the workers signed with (masked), and its credential's fingerprint. */
  secretId?: string;
  credential?: string;
}

/**
 * Codes by which the API refuses the credential the workers sign with (an unknown or disabled
 * SecretId, a wrong key): the workers must be restarted with another before anything succeeds.
 * A stale signature is this machine's clock, and other fatal codes (billing, a service not
 * enabled, a missing permission) are fixed on the account while the workers keep theirs.
 */
function refusesCredential(code: string): boolean {
  return code.startsWith('AuthFailure.') && code !== 'AuthFailure.SignatureExpire';
}

/** The reason as one line: the code, the refused SecretId when there is one, the hint. */
export function describePause(r: PauseReason): string {
  return `${r.code}${r.secretId ? ` (SecretId ${r.secretId})` : ''}: ${r.hint}`;
}

/**
 * Stops every worker when calling is pointless (a `fatal` code: credentials, billing, service not
 * enabled), and slows them all when the API fails often (a storm of transient errors).
 *
 * The stop is BullMQ's global queue pause, so no worker anywhere takes a new job; the reason goes
 * to Redis (for `status`) and onto the run. Cards wait, none is `failed`; `macao-ocr resume`
 * continues. The storm check keeps the last {@link windowSize} call outcomes of this process.
 */
export class CircuitBreaker {
  private readonly recent: boolean[] = [];
  private lastCoolDown = 0;
  private tripped = false;
  readonly windowSize: number;

  constructor(
    private readonly deps: {
      queue: Queue;
      redis: Redis;
      store: ResultsStore;
      limiter: RateLimiter;
      logger: Logger;
      /** Share of transient failures in the window that counts as a storm; default 0.5. */
      stormShare?: number;
      /** Calls in the window; default 50. */
      windowSize?: number;
      /** Minimum time between two cool-downs, ms; default 30,000. */
      coolDownHoldMs?: number;
      /** The credential the workers sign API calls with, named in the reason of the API's refusals. */
      credential?: { secretId: string; fingerprint: string };
    },
  ) {
    this.windowSize = deps.windowSize ?? 50;
  }

  private get reasonKey(): string {
    return cardQueueKeys(this.deps.queue).pausedReason;
  }

  /** Pauses the queue for every worker and records why. Safe to call from many jobs at once. */
  async trip(code: string, runId: string | undefined): Promise<void> {
    const credential = this.deps.credential;
    const reason: PauseReason = {
      code,
      hint: ruleFor(code).hint,
      runId,
      at: new Date().toISOString(),
      // The API refused the credential itself: only a new one helps, in every worker.
      ...(credential && refusesCredential(code)
        ? { secretId: credential.secretId, credential: credential.fingerprint }
        : {}),
    };
    const first = (await this.deps.redis.set(this.reasonKey, JSON.stringify(reason), 'NX')) === 'OK';
    await this.deps.queue.pause();
    if (runId)
      await this.deps.store.setRunState(runId, 'paused', describePause(reason)).catch(() => undefined);
    if (first || !this.tripped) {
      this.deps.logger.error(
        { code, runId, ...(reason.secretId ? { secretId: reason.secretId } : {}) },
        `OCR calls stopped for every worker: ${describePause(reason)} Cards wait in the queue; none is failed.`,
      );
    }
    this.tripped = true;
  }

  /** Records one call's outcome; cools the shared rate down when over half of the window failed transiently. */
  async observe(transientFailure: boolean): Promise<void> {
    this.recent.push(transientFailure);
    if (this.recent.length > this.windowSize) this.recent.shift();
    if (this.recent.length < this.windowSize) return;
    const failures = this.recent.filter(Boolean).length;
    const now = Date.now();
    if (
      failures / this.windowSize > (this.deps.stormShare ?? 0.5) &&
      now - this.lastCoolDown > (this.deps.coolDownHoldMs ?? 30_000)
    ) {
      this.lastCoolDown = now;
      const rate = await this.deps.limiter.coolDown();
      this.deps.logger.warn(
        { failures, window: this.windowSize, qps: rate },
        'many transient API errors: the request rate is cut for every worker and climbs back while calls succeed',
      );
    }
  }
}

/** The recorded reason of a paused queue, or undefined. */
export async function pauseReason(queue: Queue, redis: Redis): Promise<PauseReason | undefined> {
  const raw = await redis.get(cardQueueKeys(queue).pausedReason);
  return raw ? (JSON.parse(raw) as PauseReason) : undefined;
}

/** What `resume` did: resumed, or not because workers still hold the refused credential. */
export type ResumeResult =
  | { resumed: true; reason: PauseReason | undefined }
  | { resumed: false; reason: PauseReason; holders: WorkerBeat[] };

/**
 * Continues after the cause of a pause is fixed: resumes the queue, clears the reason, runs go
 * on. A pause for a refused credential is not resumed while a worker still signs with it (its
 * heartbeat says so): it would be refused again within seconds. `force` resumes all the same.
 */
export async function resumeQueue(
  queue: Queue,
  redis: Redis,
  store: ResultsStore,
  opts: { force?: boolean } = {},
): Promise<ResumeResult> {
  const reason = await pauseReason(queue, redis);
  if (reason?.credential && !opts.force) {
    const holders = (await liveWorkers(redis, cardQueueKeys(queue).workers)).filter(
      (w) => w.credential === reason.credential,
    );
    if (holders.length > 0) return { resumed: false, reason, holders };
  }
  await queue.resume();
  await redis.del(cardQueueKeys(queue).pausedReason);
  await store.resumePausedRuns();
  return { resumed: true, reason };
}
