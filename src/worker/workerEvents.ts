import type { Queue, Worker } from 'bullmq';
import type { Logger } from '../log.js';

/** Logs what the worker's and the queue's connections report, once and plainly. */
export function logWorkerEvents(worker: Worker, queue: Queue, log: Logger): void {
  worker.on('error', (err) => {
    // One per job whose lock could not be renewed; 'lockRenewalFailed' below says it once, plainly.
    if (err.message.startsWith('could not renew lock for job')) return;
    log.error({ err }, 'worker error (Redis connection?); BullMQ reconnects');
  });
  // A lock that could not be renewed expired first (this process stalled, or Redis was out of
  // reach for longer than the lock): the card may be another worker's now. A card that has not
  // been sent finds out before paying (callWithFallbacks.ts reads the lock again after a long
  // wait); one whose call is under way is not aborted: its answer still goes to the ledger, so
  // whoever runs the card next does not pay for it again.
  worker.on('lockRenewalFailed', (jobIds: string[]) =>
    log.warn({ jobIds }, 'could not renew the lock of cards in flight: another worker may have them now'),
  );
  // Without a listener BullMQ prints a Queue's errors with console.error: raw multi-line text on
  // stderr for every reconnect attempt of a Redis outage. The worker's listener above already
  // reports the outage; these are kept for debugging.
  queue.on('error', (err) => log.debug({ err }, 'queue connection error; ioredis reconnects'));
}
