import type { Worker } from 'bullmq';
import type { Logger } from '../log.js';
import { ruleFor } from '../ocr/errorActions.js';
import type { CardJobData } from '../queue.js';
import type { ResultsStore } from '../results/store.js';
import type { CardResult } from '../results/types.js';
import { type CardJobResult, cardBase, type OutcomeListener } from './cardContext.js';

/** BullMQ's reason for a job that stalled more than `maxStalledCount` times. */
const STALLED_TOO_OFTEN = 'job stalled more than allowable limit';

/**
 * Records `failed` (`Worker.Stalled`) every card BullMQ fails for stalling too often. BullMQ fails
 * such a job when a worker next takes it, without running it: its row would otherwise stay
 * pending for good. A recognized row is kept as it is (the store's rule).
 */
export function recordStalledCards(
  worker: Worker<CardJobData, CardJobResult>,
  store: ResultsStore,
  log: Logger,
  onOutcome?: OutcomeListener,
): void {
  worker.on('failed', (job, err) => {
    if (!job || err.message !== STALLED_TOO_OFTEN) return;
    const result: CardResult = {
      ...cardBase(job, job.attemptsMade),
      outcome: 'failed',
      errorCode: 'Worker.Stalled',
      errorMessage: err.message,
    };
    void store
      .recordOutcome(result)
      .then(() => {
        onOutcome?.('failed', 'Worker.Stalled');
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
}
