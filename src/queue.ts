import type { JobsOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';

/**
 * What producer and workers agree on: the queue, its keys, the job payload and default options.
 * Redis keys are `{macao-ocr}:cards:...`: the braces are a Redis Cluster hash tag that keeps every
 * key of the queue in one slot, as BullMQ needs on a cluster.
 */
export const DEFAULT_QUEUE_NAME = 'cards';
export const DEFAULT_QUEUE_PREFIX = '{macao-ocr}';

/**
 * A card job's payload: identity only, never card data. The job id is the card's version id
 * (so a second enqueue of the same listing while the job exists adds nothing).
 */
export interface CardJobData {
  runId: string;
  bucket: string;
  frontKey: string;
  frontEtag: string;
  backKey?: string;
  backEtag?: string;
  /** Object sizes from the listing, for the worker's memory budget. */
  frontBytes?: number;
  backBytes?: number;
  /** Send even if the ledger says recognized (`--reprocess all`), and let the result overwrite. */
  reprocess?: boolean;
}

/**
 * Default job options. Attempts with exponential backoff carry a card across an outage of about
 * 20 minutes (10 s, 20 s, ... 640 s); p-retry handles the short blips inside one attempt. Finished
 * jobs leave Redis: the results store, not Redis, remembers what was done, so Redis memory stays
 * bounded whatever the backlog (a few failed jobs are kept a day for the dashboard).
 */
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 10_000 },
  removeOnComplete: true,
  removeOnFail: { age: 24 * 3600, count: 1000 },
};

/** A Redis connection for BullMQ (workers need `maxRetriesPerRequest: null`). */
export function createRedis(url: string, opts: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false, ...opts });
}
