import type { Queue } from 'bullmq';
import type { CardJobData } from '../queue.js';
import type { ResultsStore } from '../results/store.js';
import type { Priority } from '../results/types.js';
import { fillWindow, removeKeptJobs, runJobsOf } from './window.js';

/**
 * `macao-ocr retry`: puts a run's `failed` cards back in the queue (optionally only those whose
 * last error code is `code`), in the same run, their kept failed jobs removed first.
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
  const run = await opts.store.getRun(opts.runId);
  if (!run) throw new Error(`no run ${opts.runId}`);
  const cards = await opts.store.failedCards(opts.runId, opts.code);
  if (cards.length === 0) return 0;
  if (opts.priority) await opts.store.setRunPriority(run.id, opts.priority);
  const options = { ...run.options };
  if (opts.attempts !== undefined || opts.maxRetryMs !== undefined) {
    // Kept on the run: the keeper makes the jobs beyond its window with them too.
    if (opts.attempts !== undefined)
      options.jobOptions = { ...(run.options.jobOptions as object | undefined), attempts: opts.attempts };
    if (opts.maxRetryMs !== undefined) options.maxRetryMs = opts.maxRetryMs;
    await opts.store.updateRunOptions(run.id, options);
  }
  await opts.store.recordSeen(opts.runId, cards);
  await removeKeptJobs(opts.queue, cards);
  await opts.store.setRunState(opts.runId, 'running');
  // The cards beyond the run's window wait in the store for the run keeper.
  await fillWindow(
    opts.store,
    opts.queue,
    runJobsOf({ ...run, options, priority: opts.priority ?? run.priority }),
    { candidates: cards },
  );
  return cards.length;
}
