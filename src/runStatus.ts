import { ACCOUNT_CONDITIONS } from './card/fields.js';
import { quotaAccount } from './config.js';
import { DEFAULT_QUEUE_PREFIX } from './queue.js';
import { quotaKeys } from './redisKeys.js';
import { jobsInQueue, pendingAhead } from './results/runLifecycle.js';
import type { QueueServices } from './services.js';
import { describePause, pauseReason } from './worker/circuitBreaker.js';
import { RateLimiter } from './worker/rateLimiter.js';

/** The `status --json` contract that scripts rely on: extend it, never rename a field. */
export interface StatusJson {
  run: string;
  state: string;
  /** The run's claim on the account's quota: high, normal or low. */
  priority: string;
  counts: {
    waiting: number;
    active: number;
    delayed: number;
    recognized: number;
    rejected: number;
    failed: number;
    skipped: number;
  };
  pending: number;
  /** Pending cards of the run that wait in the results store for room in its window. */
  inStore: number;
  /** Pending cards of other runs sent before this run's: higher priority, or equal and older. */
  cardsAhead: number;
  effectiveQps: number;
  paused: boolean;
  pausedReason: string | null;
  cardsPerSecond: number | null;
  /** Seconds until the run's last card: the cards ahead and its own, at the rate it goes. */
  etaSeconds: number | null;
  /** What the API said of the account during the run, e.g. `-9109: the card-warning service is not enabled ...`. */
  accountConditions: string[];
  /** The one word `status --check` turns into its exit code ({@link HEALTH_EXIT}). */
  health: Health;
}

/**
 * How a run stands, first match wins: `paused` (a fatal API error stopped every worker),
 * `stuck` (cards pending and no job waiting, active or delayed in the queue: no worker will send
 * them until someone runs `retry` or `enqueue` again), `failed` (the run has failed cards), `ok`.
 */
export type Health = 'ok' | 'paused' | 'stuck' | 'failed';

/** `status --check`'s exit codes; plain `status` always exits 0. */
export const HEALTH_EXIT: Readonly<Record<Health, number>> = { ok: 0, paused: 1, failed: 3, stuck: 4 };

function healthOf(paused: boolean, pending: number, queued: number, failed: number): Health {
  if (paused) return 'paused';
  if (pending > 0 && queued === 0) return 'stuck';
  if (failed > 0) return 'failed';
  return 'ok';
}

export async function loadStatus(s: QueueServices, runId: string): Promise<StatusJson> {
  const [summary, jobs, reason, paused, inQueue] = await Promise.all([
    s.store.runSummary(runId),
    s.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized'),
    pauseReason(s.queue, s.redis),
    s.queue.isPaused(),
    jobsInQueue(s.store, runId),
  ]);
  if (!summary) throw new Error(`run ${runId} vanished`);
  const ahead =
    summary.state === 'done'
      ? 0
      : await pendingAhead(s.store, summary.priority, { startedAt: summary.startedAt, except: runId });
  const account = quotaAccount(s.config);
  const limiter =
    account === undefined
      ? undefined
      : new RateLimiter(s.redis, {
          keys: quotaKeys(s.queue.opts.prefix ?? DEFAULT_QUEUE_PREFIX, account),
          maxQps: s.config.ocr.qps,
          guardMs: s.config.ocr.rateGuardMs,
        });
  const finished = summary.counts.recognized + summary.counts.rejected + summary.counts.failed;
  const seconds = ((summary.finishedAt ?? new Date()).getTime() - summary.startedAt.getTime()) / 1000;
  const rate = finished > 0 && seconds > 0 ? finished / seconds : null;
  const effectiveQps = (await limiter?.effectiveQps()) ?? s.config.ocr.qps;
  const pending = summary.counts.pending;
  const queued = (jobs.waiting ?? 0) + (jobs.prioritized ?? 0) + (jobs.active ?? 0) + (jobs.delayed ?? 0);
  // While other runs go first, this run's own pace says nothing: the account's rate does.
  const pace = ahead > 0 || rate === null ? effectiveQps : rate;
  return {
    run: runId,
    state: summary.state,
    priority: summary.priority,
    counts: {
      waiting: (jobs.waiting ?? 0) + (jobs.prioritized ?? 0),
      active: jobs.active ?? 0,
      delayed: jobs.delayed ?? 0,
      recognized: summary.counts.recognized,
      rejected: summary.counts.rejected,
      failed: summary.counts.failed,
      skipped: summary.counts.skipped,
    },
    pending,
    inStore: Math.max(0, pending - inQueue),
    cardsAhead: ahead,
    effectiveQps: Math.round(effectiveQps * 100) / 100,
    paused,
    pausedReason: reason ? describePause(reason) : (summary.pausedReason ?? null),
    cardsPerSecond: rate === null ? null : Math.round(rate * 100) / 100,
    accountConditions: summary.accountConditions.map((code) => `${code}: ${ACCOUNT_CONDITIONS[code] ?? ''}`),
    etaSeconds: pending === 0 ? 0 : pace > 0 ? Math.ceil((ahead + pending) / pace) : null,
    health: healthOf(paused, pending, queued, summary.counts.failed),
  };
}

export function formatStatus(st: StatusJson): string {
  const c = st.counts;
  return [
    `run ${st.run}  ${st.state}  priority ${st.priority}${st.paused ? `  PAUSED${st.pausedReason ? `: ${st.pausedReason}` : ''}` : ''}`,
    `  queue      waiting ${c.waiting}  active ${c.active}  delayed ${c.delayed}`,
    `  outcomes   recognized ${c.recognized}  rejected ${c.rejected}  failed ${c.failed}  skipped ${c.skipped}  pending ${st.pending} (${st.inStore} waiting in the store)`,
    ...(st.cardsAhead > 0
      ? [`  ahead      ${st.cardsAhead} cards of runs of equal or higher priority go first`]
      : []),
    `  rate       ${st.effectiveQps} req/s allowed now; ${st.cardsPerSecond ?? '-'} cards/s finished; ETA ${st.etaSeconds === null ? '-' : `${st.etaSeconds} s`}`,
    ...st.accountConditions.map((a) => `  account    ${a}`),
    ...(st.health === 'stuck'
      ? [
          `  stuck      ${st.pending} cards pending and nothing in the queue: start a worker (\`macao-ocr work\` refills the queue from the store); if one runs, enqueue the run's sources again`,
        ]
      : []),
  ].join('\n');
}
