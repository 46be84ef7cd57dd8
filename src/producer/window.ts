import type { JobsOptions, Queue } from 'bullmq';
import { DEFAULTS, defaultWindow } from '../defaults.js';
import { mapLimit } from '../mapLimit.js';
import { addCardJobs, type CardJobData } from '../queue.js';
import { jobsInQueue, markQueued, waitingCards } from '../results/runLifecycle.js';
import type { ResultsStore } from '../results/store.js';
import type { Priority, RunRow, SeenCard } from '../results/types.js';

/**
 * A run's window: Redis holds at most this many of its jobs at once. The rest of its cards wait
 * as pending rows in the results store (`queued_at` NULL) and move into the queue as it drains:
 * the producer fills the window as it enqueues, and every worker's run keeper refills it
 * (worker/runKeeper.ts). The store is the truth, so a crash of any process loses nothing and a
 * restart refills from the store without listing the bucket again.
 */

/** What the jobs of a run are made with. */
export interface RunJobs {
  id: string;
  priority: Priority;
  /** Null: a run recorded before windows; it gets the default window at the default rate. */
  windowSize: number | null;
  reprocess: boolean;
  jobOptions?: JobsOptions | undefined;
  /** How long a card may keep failing (`--max-retry-minutes`), ms; unset: its attempts alone bound it. */
  maxRetryMs?: number | undefined;
}

/** How a recorded run's jobs are made, from its row (its enqueue's options kept there). */
export function runJobsOf(run: Pick<RunRow, 'id' | 'priority' | 'windowSize' | 'options'>): RunJobs {
  return {
    id: run.id,
    priority: run.priority,
    windowSize: run.windowSize,
    reprocess: run.options.reprocess != null,
    jobOptions: run.options.jobOptions as JobsOptions | undefined,
    maxRetryMs: typeof run.options.maxRetryMs === 'number' ? run.options.maxRetryMs : undefined,
  };
}

/**
 * Removes the jobs BullMQ keeps for these cards (a failed card's, kept a while for the
 * dashboard), before the cards are queued again: a job id that exists is not added again.
 */
export async function removeKeptJobs(
  queue: Queue<CardJobData>,
  cards: readonly { versionId: string }[],
): Promise<void> {
  await mapLimit(cards, 16, async (c) => {
    await queue.remove(c.versionId).catch(() => 0);
  });
}

/**
 * Adds jobs for `run` up to its window: from `candidates` (cards the caller just recorded as
 * pending) when given, else from the cards that wait in the store. Only when at least `minRoom`
 * jobs fit (the keeper refills in steps, not card by card). Jobs first, then the rows marked:
 * a crash in between leaves rows that are queued again, which adds nothing for a job that exists
 * and costs no call for a card the ledger settled. Returns the jobs added.
 */
export async function fillWindow(
  store: ResultsStore,
  queue: Queue<CardJobData>,
  run: RunJobs,
  opts: { candidates?: readonly SeenCard[]; minRoom?: number } = {},
): Promise<number> {
  const window = run.windowSize ?? defaultWindow(DEFAULTS.qps);
  const room = window - (await jobsInQueue(store, run.id));
  if (room <= 0 || room < (opts.minRoom ?? 1)) return 0;
  const cards = opts.candidates ? opts.candidates.slice(0, room) : await waitingCards(store, run.id, room);
  if (cards.length === 0) return 0;
  await addCardJobs(queue, run.id, cards, {
    priority: run.priority,
    reprocess: run.reprocess,
    jobOptions: run.jobOptions,
    maxRetryMs: run.maxRetryMs,
  });
  await markQueued(
    store,
    cards.map((c) => c.versionId),
  );
  return cards.length;
}
