import type { Queue } from 'bullmq';
import { mapLimit } from '../mapLimit.js';
import type { CardJobData } from '../queue.js';
import type { ResultsStore } from '../results/store.js';
import type { Priority } from '../results/types.js';
import { fillWindow, runJobsOf } from './window.js';

/**
 * `macao-ocr retry`: puts a run's `failed` cards back in the queue (optionally only those whose
 * last error code is `code`), in the same run. A failed job BullMQ still keeps is removed first:
 * its id is the card's version id, and a job id that exists is not added again.
 */
export async function retryFailed(opts: {
  store: ResultsStore;
  queue: Queue<CardJobData>;
  runId: string;
  code?: string | undefined;
  /** The run's new priority; default the one it has. */
  priority?: Priority | undefined;
  /** The run's attempts per card from now on (`--attempts`); default the ones it has. */
  attempts?: number | undefined;
  /** The run's retry deadline per card from now on (`--max-retry-minutes`), ms. */
  maxRetryMs?: number | undefined;
}): Promise<number> {
  let run = await opts.store.getRun(opts.runId);
  if (!run) throw new Error(`no run ${opts.runId}`);
  const cards = await opts.store.failedCards(opts.runId, opts.code);
  if (cards.length === 0) return 0;
  if (opts.priority) await opts.store.setRunPriority(run.id, opts.priority);
  if (opts.attempts !== undefined || opts.maxRetryMs !== undefined) {
    // Kept on the run: the keeper makes the jobs beyond its window with them too.
    const jobOptions = { ...(run.options.jobOptions as object | undefined) };
    await opts.store.updateRunOptions(run.id, {
      ...(opts.attempts !== undefined ? { jobOptions: { ...jobOptions, attempts: opts.attempts } } : {}),
      ...(opts.maxRetryMs !== undefined ? { maxRetryMs: opts.maxRetryMs } : {}),
    });
    run = (await opts.store.getRun(run.id)) ?? run;
  }
  await opts.store.recordSeen(opts.runId, cards);
  await mapLimit(cards, 16, async (c) => {
    await opts.queue.remove(c.versionId).catch(() => 0);
  });
  await opts.store.setRunState(opts.runId, 'running');
  // The cards beyond the run's window wait in the store for the run keeper.
  await fillWindow(opts.store, opts.queue, runJobsOf({ ...run, priority: opts.priority ?? run.priority }), {
    candidates: cards,
  });
  return cards.length;
}
