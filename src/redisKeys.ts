/**
 * Every Redis key this program names, in one place, as BullMQ's `QueueKeys` is for its own. They
 * all hang off a queue's `toKey`, so they share its `{macao-ocr}` hash tag and sit in the queue's
 * Redis Cluster slot, where BullMQ's scripts and ours can touch them in one call.
 */

/** Anything that names keys the way a BullMQ `Queue` or `Worker` does: `prefix:name:type`. */
export interface KeyNamer {
  toKey(type: string): string;
}

/** The keys of one card queue. */
export interface CardQueueKeys {
  /** The shared request rate's state (a hash: the rate now, when it last changed, the schedule). */
  rate: string;
  /** The shared rate's record of when calls really left (a list, newest first). */
  rateDepartures: string;
  /** Why every worker is paused: the fatal code and its hint (JSON), set with the queue's pause. */
  pausedReason: string;
  /** BullMQ's hash of one job: it exists while the job does (waiting, active, delayed, failed). */
  job(jobId: string): string;
  /** BullMQ's lock of one job: the token of the worker that holds it. */
  jobLock(jobId: string): string;
}

export function cardQueueKeys(queue: KeyNamer): CardQueueKeys {
  const rate = queue.toKey('ocr-rate');
  return {
    rate,
    rateDepartures: `${rate}:sent`,
    pausedReason: queue.toKey('paused-reason'),
    job: (jobId) => queue.toKey(jobId),
    jobLock: (jobId) => queue.toKey(`${jobId}:lock`),
  };
}

/** The keys {@link cardQueueKeys} adds to BullMQ's, for clean-ups that must leave nothing behind. */
export function ownKeys(keys: CardQueueKeys): string[] {
  return [keys.rate, keys.rateDepartures, keys.pausedReason];
}
