import type { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../log.js';

/** What {@link closeWorker} stops. */
export interface WorkerParts {
  worker: Worker;
  queue: Queue;
  /** Closed last, once the worker and the queue are. */
  connections: readonly Redis[];
  log: Logger;
  /** Jobs in flight now, for the log. */
  inFlight: () => number;
}

/** After the grace period, how long the cancelled cards have to go back before the close is given up on. */
const HUNG_AFTER_GRACE_MS = 10_000;
/** How long the queue's close is waited for. */
const QUEUE_CLOSE_MS = 5000;

/**
 * A graceful stop: no new jobs, the cards in flight finish within `graceMs`, then the rest are
 * cancelled (they go back to the queue without spending an attempt), then the connections close.
 */
export async function closeWorker(parts: WorkerParts, graceMs: number): Promise<void> {
  const { worker, queue, log } = parts;
  const closed = worker.close();
  const timer = setTimeout(() => {
    log.warn(
      { inFlight: parts.inFlight() },
      'grace period over: cancelling the cards still in flight (they go back to the queue)',
    );
    worker.cancelAllJobs('shutdown');
  }, graceMs);
  // BullMQ 6.7's close() can hang when called just after a Redis reconnect: after the grace
  // period and a margin for the cancelled cards to go back, stop waiting for it. Redis has
  // the jobs; a card cut off here is picked up again by the stalled-job check.
  let hung: NodeJS.Timeout | undefined;
  const giveUp = new Promise<'hung'>((resolve) => {
    hung = setTimeout(() => resolve('hung'), graceMs + HUNG_AFTER_GRACE_MS);
  });
  try {
    if ((await Promise.race([closed.then(() => 'closed' as const), giveUp])) === 'hung') {
      log.warn('the worker did not close in time (a Redis reconnect?); closing its connections');
      void worker.close(true).catch(() => undefined);
    }
  } finally {
    clearTimeout(timer);
    clearTimeout(hung);
    await Promise.race([queue.close(), new Promise((r) => setTimeout(r, QUEUE_CLOSE_MS))]);
    for (const connection of parts.connections) connection.disconnect();
  }
}
