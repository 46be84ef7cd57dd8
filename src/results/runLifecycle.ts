import {
  CARD_IDENTITY,
  type CardIdentityRow,
  type ResultsStore,
  type RunDbRow,
  toRun,
  toSeenCard,
} from './store.js';
import { PRIORITIES, type Priority, type RunRow, type RunSummary, type SeenCard } from './types.js';

/**
 * The SQL of a run's life after its enqueue: the window of its jobs in Redis refilled from its
 * pending rows, the run marked done once nothing of it is pending, its notice claimed and
 * settled, the runs listed, and the work queued ahead of a priority.
 */

/**
 * Unfinished runs of queue `queueName` with cards waiting in the store, highest priority and
 * oldest first. Another queue's runs are its own workers' to refill: their jobs belong there.
 * How many of a run's jobs Redis holds is counted when its window is filled (`jobsInQueue`).
 */
export async function runsToRefill(store: ResultsStore, queueName: string): Promise<RunRow[]> {
  const { rows } = await store.pool.query<RunDbRow>(
    `SELECT r.* FROM runs r
     WHERE r.state <> 'done' AND r.queue = $1
       AND EXISTS (SELECT 1 FROM cards c WHERE c.run_id = r.id AND c.pending AND c.queued_at IS NULL)
     ORDER BY ${PRIORITY_RANK}, r.started_at, r.id`,
    [queueName],
  );
  return rows.map(toRun);
}

/** How many of a run's pending cards have a job (queued, delayed or being worked on). */
export async function jobsInQueue(store: ResultsStore, runId: string): Promise<number> {
  const { rows } = await store.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM cards WHERE run_id = $1 AND pending AND queued_at IS NOT NULL',
    [runId],
  );
  return rows[0]?.n ?? 0;
}

/** Up to `limit` of a run's pending cards that wait in the store, in version order. */
export async function waitingCards(store: ResultsStore, runId: string, limit: number): Promise<SeenCard[]> {
  const { rows } = await store.pool.query<CardIdentityRow>(
    `SELECT ${CARD_IDENTITY} FROM cards WHERE run_id = $1 AND pending AND queued_at IS NULL
     ORDER BY version_id LIMIT $2`,
    [runId, limit],
  );
  return rows.map(toSeenCard);
}

/** Notes that these cards' jobs were added (call it after adding them, never before). */
export async function markQueued(store: ResultsStore, versionIds: readonly string[]): Promise<void> {
  if (versionIds.length === 0) return;
  await store.pool.query(
    'UPDATE cards SET queued_at = now() WHERE version_id = ANY ($1::text[]) AND pending AND queued_at IS NULL',
    [versionIds],
  );
}

/**
 * Marks `running` runs none of whose cards is pending as `done`, whichever process finished the
 * last card; returns their ids. One statement: of two processes that look at once, one marks.
 */
export async function finishDrainedRuns(store: ResultsStore): Promise<string[]> {
  const { rows } = await store.pool.query<{ id: string }>(
    `UPDATE runs SET state = 'done', finished_at = coalesce(finished_at, now())
     WHERE state = 'running' AND NOT EXISTS (SELECT 1 FROM cards c WHERE c.run_id = runs.id AND c.pending)
     RETURNING id`,
  );
  return rows.map((r) => r.id);
}

/** A notice this process claimed: it is the only one sending it until `leaseMs` has passed. */
export interface ClaimedNotice {
  runId: string;
  url: string;
  /** 1 for the first delivery. */
  attempt: number;
}

/**
 * Claims the notices that are due (the run done, not delivered, its next attempt due, attempts
 * left): each is pushed `leaseMs` into the future in the same statement, so one process sends it.
 */
export async function claimDueNotices(
  store: ResultsStore,
  opts: { leaseMs: number; maxAttempts: number; runId?: string },
): Promise<ClaimedNotice[]> {
  const { rows } = await store.pool.query<{ id: string; notify_url: string; notify_attempts: number }>(
    `UPDATE runs SET notify_attempts = notify_attempts + 1,
       notify_due_at = now() + make_interval(secs => $1::double precision / 1000)
     WHERE state = 'done' AND notify_url IS NOT NULL AND notified_at IS NULL
       AND coalesce(notify_due_at, '-infinity') <= now() AND notify_attempts < $2
       AND ($3::text IS NULL OR id = $3)
     RETURNING id, notify_url, notify_attempts`,
    [opts.leaseMs, opts.maxAttempts, opts.runId ?? null],
  );
  return rows.map((r) => ({ runId: r.id, url: r.notify_url, attempt: r.notify_attempts }));
}

/** Settles a claimed notice: delivered, or failed with `error` and its next attempt after `retryMs`. */
export async function settleNotice(
  store: ResultsStore,
  runId: string,
  outcome: { delivered: true } | { delivered: false; error: string; retryMs: number },
): Promise<void> {
  if (outcome.delivered) {
    await store.pool.query(
      'UPDATE runs SET notified_at = now(), notify_error = NULL, notify_due_at = NULL WHERE id = $1',
      [runId],
    );
  } else {
    await store.pool.query(
      `UPDATE runs SET notify_error = $2,
         notify_due_at = now() + make_interval(secs => $3::double precision / 1000) WHERE id = $1`,
      [runId, outcome.error, outcome.retryMs],
    );
  }
}

/** Runs, newest first. */
export async function listRuns(store: ResultsStore, limit: number): Promise<RunRow[]> {
  const { rows } = await store.pool.query<RunDbRow>(
    'SELECT * FROM runs ORDER BY started_at DESC, id DESC LIMIT $1',
    [limit],
  );
  return rows.map(toRun);
}

/**
 * Pending cards of unfinished runs that are sent before a card of `priority`: every higher run's,
 * and an equal run's when it started before `startedAt` (default: all equal runs, as for a run
 * not made yet). `except` leaves one run out (the run asked about).
 */
export async function pendingAhead(
  store: ResultsStore,
  priority: Priority,
  opts: { startedAt?: Date; except?: string } = {},
): Promise<number> {
  const rank = PRIORITIES.indexOf(priority);
  const { rows } = await store.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM cards c JOIN runs r ON r.id = c.run_id
     WHERE c.pending AND r.state <> 'done' AND r.id IS DISTINCT FROM $3
       AND (${PRIORITY_RANK} < $1 OR (${PRIORITY_RANK} = $1 AND ($2::timestamptz IS NULL OR r.started_at < $2)))`,
    [rank, opts.startedAt ?? null, opts.except ?? null],
  );
  return rows[0]?.n ?? 0;
}

/** A run's priority as its rank: 0 high, 1 normal, 2 low (the index in {@link PRIORITIES}). */
const PRIORITY_RANK = `(CASE r.priority ${PRIORITIES.map((p, i) => `WHEN '${p}' THEN ${i}`).join(' ')} END)`;

/**
 * A run as `runs --json` lists it and its notice announces it: extend it, never rename a field.
 * Counts only, no card data.
 */
export interface RunJson {
  run: string;
  sources: string[];
  priority: Priority;
  state: RunRow['state'];
  startedAt: string;
  finishedAt: string | null;
  /** Cards by outcome, and those pending. */
  counts: RunSummary['counts'];
  /** Calls to the API, retries included, and how many of them are billed. */
  calls: number;
  billedCalls: number;
}

/** The newest `limit` runs as `runs --json` and the dashboard's `/api/runs` give them. */
export async function runsJson(store: ResultsStore, limit: number): Promise<RunJson[]> {
  const items: RunJson[] = [];
  for (const run of await listRuns(store, limit)) items.push(runJson(await store.summarize(run)));
  return items;
}

/** One run as {@link runsJson} gives it, or undefined when there is no such run. */
export async function runJsonOf(store: ResultsStore, id: string): Promise<RunJson | undefined> {
  const s = await store.runSummary(id);
  return s ? runJson(s) : undefined;
}

export function runJson(s: RunSummary): RunJson {
  return {
    run: s.id,
    sources: s.sources,
    priority: s.priority,
    state: s.state,
    startedAt: s.startedAt.toISOString(),
    finishedAt: s.finishedAt?.toISOString() ?? null,
    counts: s.counts,
    calls: s.apiCalls,
    billedCalls: s.billedCalls,
  };
}
