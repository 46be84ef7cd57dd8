import type { S3Client } from '@aws-sdk/client-s3';
import { type Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { DEFAULTS } from '../defaults.js';
import { type Logger, silentLogger } from '../log.js';
import type { CallRecord, OcrClient } from '../ocr/client.js';
import { ruleFor } from '../ocr/errorActions.js';
import { type CardJobData, createRedis, DEFAULT_QUEUE_PREFIX } from '../queue.js';
import { cardQueueKeys } from '../redisKeys.js';
import type { ResultsStore } from '../results/store.js';
import type { CardResult, Outcome } from '../results/types.js';
import { checkBucket } from '../storage/objects.js';
import { describeS3Error, StorageError } from '../storage/s3Errors.js';
import { parseS3Uri } from '../storage/s3Uri.js';
import { ATTEMPT_BACKOFF, backoffDelayMs } from './backoff.js';
import { ByteBudget } from './byteBudget.js';
import { CircuitBreaker } from './circuitBreaker.js';
import { type CardContext, type CardJobResult, cardBase, processCard } from './processCard.js';
import { RateLimiter, type RateLimiterOptions } from './rateLimiter.js';

/** BullMQ's reason for a job that stalled more than `maxStalledCount` times. */
const STALLED_TOO_OFTEN = 'job stalled more than allowable limit';

// KEYS[1] a job's lock; ARGV[1] our token. Returns its remaining ms, -1 if another worker holds
// it (or none does), -2 if it never expires. One command: MULTI/GET/PTTL/EXEC was four per call.
const LOCK_LEFT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -1 then return -2 end
return ttl
`;

/** Ms left on a job's lock if `token` holds it; 0 if another worker (or none) does; Infinity if it never expires. */
export async function lockLeftMs(redis: Redis, lockKey: string, token: string): Promise<number> {
  const left = Number(await redis.eval(LOCK_LEFT, 1, lockKey, token));
  return left === -2 ? Number.POSITIVE_INFINITY : Math.max(0, left);
}

/** Options of {@link startCardWorker}. */
export interface CardWorkerOptions {
  redisUrl: string;
  /** Queue name; default `cards`. */
  queueName?: string;
  /** BullMQ key prefix; default `{macao-ocr}` (a Redis Cluster hash tag). */
  prefix?: string;
  s3: S3Client;
  /** Signs the presigned URLs the provider downloads (`S3_PRESIGN_ENDPOINT`); default {@link s3}. */
  presignS3?: S3Client | undefined;
  store: ResultsStore;
  client: OcrClient;
  /** `OCR_QPS`: the rate for all workers together, requests per second. */
  qps: number;
  /** `OCR_RATE_GUARD_MS`: see {@link RateLimiterOptions.guardMs}; default 30. */
  rateGuardMs?: number;
  /** `OCR_IMAGE_MODE`. */
  imageMode: 'url' | 'base64';
  /** Fixed concurrency; unset: follows rate × observed latency, within 2..{@link maxConcurrency}. */
  concurrency?: number | undefined;
  /** Upper bound of the automatic concurrency; default 256. */
  maxConcurrency?: number;
  /** Bytes of images held in memory at once (inline mode); default 256 MB. */
  byteBudgetBytes?: number;
  /** `s3://bucket/prefix` for `RetImage` portraits; unset: portraits are not asked for. */
  portraits?: string | undefined;
  /** Lifetime of presigned URLs, s; default 300. */
  presignTtlSec?: number;
  /** How long a job's lock lasts without renewal, ms; a killed worker's jobs run again after about this. Default 30,000. */
  lockDurationMs?: number;
  /** How often stalled jobs are looked for, ms; default 15,000. */
  stalledIntervalMs?: number;
  /** How many times a card may be left by its worker (a crash, a stall) before BullMQ fails it; default 3. */
  maxStalledCount?: number;
  /**
   * Quick retries inside one attempt; default 3, the first after 100-200 ms, then twice as long
   * each time (up to 5 s). Short, as the AWS SDKs' standard retry mode (100 ms base): every retry
   * takes its turn in the shared rate, so retrying sooner never raises the request rate, and a
   * storm of failures cools the rate down (circuitBreaker.ts).
   */
  quickRetries?: number;
  quickMinMs?: number;
  quickMaxMs?: number;
  logger?: Logger;
  onCall?: (record: CallRecord) => void;
  onOutcome?: CardContext['onOutcome'];
}

export interface CardWorker {
  worker: Worker<CardJobData, CardJobResult>;
  queue: Queue<CardJobData>;
  limiter: RateLimiter;
  /** Jobs being processed by this process. */
  readonly inFlight: number;
  /** The concurrency in force. */
  readonly concurrency: number;
  /**
   * Graceful stop: take no new jobs, let in-flight cards finish within `graceMs`, then cancel the
   * rest (they go back to the queue without spending an attempt), close connections.
   */
  close(graceMs?: number): Promise<void>;
}

/** Starts a worker process's BullMQ worker for card jobs. */
export async function startCardWorker(opts: CardWorkerOptions): Promise<CardWorker> {
  const log = opts.logger ?? silentLogger;
  const queueName = opts.queueName ?? DEFAULTS.queueName;
  const prefix = opts.prefix ?? DEFAULT_QUEUE_PREFIX;
  const portraits = opts.portraits ? parseS3Uri(opts.portraits) : undefined;
  // Found now rather than after the first paid call: a portraits bucket that is missing would
  // otherwise flag every card recognized without its portrait. HEAD needs s3:ListBucket, which a
  // write-only policy on the prefix does not give: a refusal is only a warning.
  if (portraits) {
    await checkBucket(opts.s3, portraits.bucket).catch((e: unknown) => {
      const err = describeS3Error(e, `opening bucket ${portraits.bucket}`);
      if (err.code === 'AccessDenied') {
        log.warn(
          { code: `Storage.${err.code}` },
          'cannot check the portraits bucket (no s3:ListBucket?): portraits that cannot be written are flagged portrait-not-stored',
        );
        return;
      }
      throw new StorageError(err.code, `--portraits ${opts.portraits}: ${err.message}`, err.transient);
    });
  }
  const redis: Redis = createRedis(opts.redisUrl);
  const workerRedis: Redis = createRedis(opts.redisUrl);
  const queue = new Queue<CardJobData>(queueName, { connection: redis, prefix });
  const keys = cardQueueKeys(queue);
  const limiter = new RateLimiter(redis, {
    keys,
    maxQps: opts.qps,
    ...(opts.rateGuardMs !== undefined ? { guardMs: opts.rateGuardMs } : {}),
  });
  const breaker = new CircuitBreaker({ queue, redis, store: opts.store, limiter, logger: log });
  // Latency of recent calls (exponentially weighted), for the automatic concurrency.
  let latencyMs = 1000;
  const ctx: CardContext = {
    s3: opts.s3,
    presignS3: opts.presignS3,
    store: opts.store,
    client: opts.client,
    limiter,
    budget: new ByteBudget(opts.byteBudgetBytes ?? 256 * 1024 * 1024),
    breaker,
    logger: log,
    imageMode: opts.imageMode,
    inline: { untilMs: 0 },
    presignTtlSec: opts.presignTtlSec ?? 300,
    portraits,
    quickRetries: opts.quickRetries ?? 3,
    quickMinMs: opts.quickMinMs ?? 100,
    quickMaxMs: opts.quickMaxMs ?? 5000,
    rateLimitQueue: (ms) => queue.rateLimit(ms),
    lockRemainingMs: async (jobId, token) => {
      if (!token) return Number.POSITIVE_INFINITY;
      return lockLeftMs(redis, keys.jobLock(jobId), token);
    },
    onCall: (rec) => {
      latencyMs = latencyMs * 0.9 + rec.latencyMs * 0.1;
      opts.onCall?.(rec);
    },
    ...(opts.onOutcome ? { onOutcome: opts.onOutcome } : {}),
  };

  const maxConcurrency = opts.maxConcurrency ?? 256;
  const autoConcurrency = async (): Promise<number> => {
    // Enough calls in flight to keep the rate busy while each waits for its answer, plus slack
    // for the time spent presenting the image and writing the result.
    const qps = await limiter.effectiveQps();
    return Math.max(2, Math.min(maxConcurrency, Math.ceil((qps * latencyMs * 1.5) / 1000) + 2));
  };
  const initial = opts.concurrency ?? Math.max(2, Math.min(maxConcurrency, Math.ceil(opts.qps * 1.5) + 2));

  let active = 0;
  const worker = new Worker<CardJobData, CardJobResult>(
    queueName,
    async (job: Job<CardJobData>, token?: string, signal?: AbortSignal) => {
      active++;
      try {
        return await processCard(ctx, job, token, signal ?? new AbortController().signal);
      } finally {
        active--;
      }
    },
    {
      connection: workerRedis,
      prefix,
      concurrency: initial,
      autorun: true,
      lockDuration: opts.lockDurationMs ?? DEFAULTS.lockMs,
      stalledInterval: opts.stalledIntervalMs ?? 15_000,
      maxStalledCount: opts.maxStalledCount ?? 3,
      settings: { backoffStrategy: (attemptsMade: number) => backoffDelayMs(attemptsMade, ATTEMPT_BACKOFF) },
    },
  );
  worker.on('error', (err) => {
    // One per job whose lock could not be renewed; 'lockRenewalFailed' below says it once, plainly.
    if (err.message.startsWith('could not renew lock for job')) return;
    log.error({ err }, 'worker error (Redis connection?); BullMQ reconnects');
  });
  // BullMQ fails a job that stalled too often when a worker next takes it, without running it:
  // its row would stay pending for good. Recorded failed (a recognized row is kept as it is).
  worker.on('failed', (job, err) => {
    if (!job || err.message !== STALLED_TOO_OFTEN) return;
    const result: CardResult = {
      ...cardBase(job, job.attemptsMade),
      outcome: 'failed',
      errorCode: 'Worker.Stalled',
      errorMessage: err.message,
    };
    void opts.store
      .recordOutcome(result)
      .then(() => {
        opts.onOutcome?.('failed', 'Worker.Stalled');
        log.error(
          { runId: job.data.runId, jobId: job.id, code: 'Worker.Stalled' },
          `a card was left by its worker too many times: recorded failed. ${ruleFor('Worker.Stalled').hint}`,
        );
      })
      .catch((e: unknown) =>
        log.error(
          { jobId: job.id, err: { message: (e as Error).message } },
          'could not record a stalled card failed',
        ),
      );
  });
  // A lock that could not be renewed expired first (this process stalled, or Redis was out of
  // reach for longer than the lock): the card may be another worker's now. A card that has not
  // been sent finds out before paying (processCard reads the lock again after a long wait); one
  // whose call is under way is not aborted: its answer still goes to the ledger, so whoever runs
  // the card next does not pay for it again.
  worker.on('lockRenewalFailed', (jobIds: string[]) =>
    log.warn({ jobIds }, 'could not renew the lock of cards in flight: another worker may have them now'),
  );
  // Without a listener BullMQ prints a Queue's errors with console.error: raw multi-line text on
  // stderr for every reconnect attempt of a Redis outage (seen in the chaos tests). The worker's
  // listener above already reports the outage; these are kept for debugging.
  queue.on('error', (err) => log.debug({ err }, 'queue connection error; ioredis reconnects'));
  await worker.waitUntilReady();

  const tuner =
    opts.concurrency === undefined
      ? setInterval(() => {
          autoConcurrency()
            .then((n) => {
              if (n !== worker.concurrency) worker.concurrency = n;
            })
            .catch(() => undefined);
        }, 2000)
      : undefined;
  tuner?.unref();

  let closing: Promise<void> | undefined;
  return {
    worker,
    queue,
    limiter,
    get inFlight() {
      return active;
    },
    get concurrency() {
      return worker.concurrency;
    },
    close(graceMs = DEFAULTS.graceMs) {
      closing ??= (async () => {
        if (tuner) clearInterval(tuner);
        const closed = worker.close();
        const timer = setTimeout(() => {
          log.warn(
            { inFlight: active },
            'grace period over: cancelling the cards still in flight (they go back to the queue)',
          );
          worker.cancelAllJobs('shutdown');
        }, graceMs);
        // BullMQ 6.7's close() can hang when called just after a Redis reconnect: after the grace
        // period and a margin for the cancelled cards to go back, stop waiting for it. Redis has
        // the jobs; a card cut off here is picked up again by the stalled-job check.
        let hung: NodeJS.Timeout | undefined;
        const giveUp = new Promise<'hung'>((resolve) => {
          hung = setTimeout(() => resolve('hung'), graceMs + 10_000);
        });
        try {
          if ((await Promise.race([closed.then(() => 'closed' as const), giveUp])) === 'hung') {
            log.warn('the worker did not close in time (a Redis reconnect?); closing its connections');
            void worker.close(true).catch(() => undefined);
          }
        } finally {
          clearTimeout(timer);
          clearTimeout(hung);
          await Promise.race([queue.close(), new Promise((r) => setTimeout(r, 5000))]);
          redis.disconnect();
          workerRedis.disconnect();
        }
      })();
      return closing;
    },
  };
}

export type { Outcome };
