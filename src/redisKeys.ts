import { createHash } from 'node:crypto';

/**
 * Every Redis key this program names, in one place, as BullMQ's `QueueKeys` is for its own. A
 * queue's keys hang off its `toKey`; an account's quota hangs off the prefix alone, so that every
 * queue under it shares it. All share the prefix's `{macao-ocr}` hash tag and sit in one Redis
 * Cluster slot, where BullMQ's scripts and ours can touch them in one call.
 */

/** Anything that names keys the way a BullMQ `Queue` or `Worker` does: `prefix:name:type`. */
export interface KeyNamer {
  toKey(type: string): string;
}

/** The keys of one account's request quota, shared by every queue and process that names it. */
export interface QuotaKeys {
  /** The shared request rate's state (a hash: the rate now, when it last changed, the schedule). */
  rate: string;
  /** The shared rate's record of when calls really left (a list, newest first). */
  rateDepartures: string;
}

/**
 * The quota keys of `account` (`OCR_QUOTA_KEY`, or the SecretId) under a queue prefix. The
 * account is hashed: a key name shows up in `redis-cli --scan` and in monitoring.
 */
export function quotaKeys(prefix: string, account: string): QuotaKeys {
  const rate = `${prefix}:quota:${createHash('sha256').update(account).digest('hex').slice(0, 24)}`;
  return { rate, rateDepartures: `${rate}:sent` };
}

/** The keys of one card queue. */
export interface CardQueueKeys {
  /** Why every worker is paused: the fatal code and its hint (JSON), set with the queue's pause. */
  pausedReason: string;
  /** Held by the worker that refills the runs' windows from the store (a token, expiring). */
  refillLock: string;
  /** The running workers' heartbeats (a sorted set by time of the last beat): host, pid, credential. */
  workers: string;
  /** BullMQ's hash of one job: it exists while the job does (waiting, active, delayed, failed). */
  job(jobId: string): string;
  /** BullMQ's lock of one job: the token of the worker that holds it. */
  jobLock(jobId: string): string;
}

export function cardQueueKeys(queue: KeyNamer): CardQueueKeys {
  return {
    pausedReason: queue.toKey('paused-reason'),
    refillLock: queue.toKey('refill-lock'),
    workers: queue.toKey('workers'),
    job: (jobId) => queue.toKey(jobId),
    jobLock: (jobId) => queue.toKey(`${jobId}:lock`),
  };
}

/** The keys {@link cardQueueKeys} adds to BullMQ's, for clean-ups that must leave nothing behind. */
export function ownKeys(keys: CardQueueKeys): string[] {
  return [keys.pausedReason, keys.refillLock, keys.workers];
}
