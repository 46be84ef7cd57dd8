import type { Queue } from 'bullmq';
import { type CardJobData, DEFAULT_JOB_OPTIONS } from '../queue.js';
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
  for (let i = 0; i < cards.length; i += 500) {
    const chunk = cards.slice(i, i + 500);
    for (const c of chunk) await opts.queue.remove(c.versionId).catch(() => 0);
    await opts.queue.addBulk(
      chunk.map((c) => ({
        name: 'card',
        data: {
          runId: opts.runId,
          bucket: c.bucket,
          frontKey: c.frontKey,
          frontEtag: c.frontEtag,
          ...(c.backKey ? { backKey: c.backKey, backEtag: c.backEtag ?? '' } : {}),
          // Both sides' bytes as listed (the store keeps their sum): what the worker's byte budget
          // reserves for an inline card. Without it the worker assumes 1 MB.
          ...(c.sizeBytes !== undefined ? { frontBytes: c.sizeBytes } : {}),
        },
        opts: { ...DEFAULT_JOB_OPTIONS, jobId: c.versionId },
      })),
    );
  }
  await opts.store.setRunState(opts.runId, 'running');
  return cards.length;
}
