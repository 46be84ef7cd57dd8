import type { Queue } from 'bullmq';
import { addCardJobs, type CardJobData } from '../queue.js';
import type { ResultsStore } from '../results/store.js';

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
}): Promise<number> {
  const cards = await opts.store.failedCards(opts.runId, opts.code);
  if (cards.length === 0) return 0;
  await opts.store.recordSeen(opts.runId, cards);
  for (const c of cards) await opts.queue.remove(c.versionId).catch(() => 0);
  await addCardJobs(opts.queue, opts.runId, cards);
  await opts.store.setRunState(opts.runId, 'running');
  return cards.length;
}
