import type { JobsOptions, Queue } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import type { CardVersion } from './results/cardVersion.js';
import type { Priority } from './results/types.js';
import { ATTEMPT_BACKOFF, CARD_BACKOFF_TYPE } from './worker/backoff.js';

/**
 * What producer and workers agree on: the queue, its keys, the job payload and default options.
 * Redis keys are `{macao-ocr}:cards:...`: the braces are a Redis Cluster hash tag that keeps every
 * key of the queue in one slot, as BullMQ needs on a cluster.
 */
export const DEFAULT_QUEUE_PREFIX = '{macao-ocr}';

/**
 * A card job's payload: the card version (identity only, never card data) and its run. The job id
 * is the card's version id, so a second enqueue of the same listing while the job exists adds
 * nothing.
 */
export interface CardJobData extends CardVersion {
  runId: string;
  backKey?: string;
  backEtag?: string;
  /** Both sides' bytes as listed, for the worker's memory budget. */
  sizeBytes?: number;
  /** Send even if the ledger says recognized (`--reprocess all`), and let the result overwrite. */
  reprocess?: boolean;
  /** How long the card may keep failing before it is `failed` (`--max-retry-minutes`), ms. */
  maxRetryMs?: number;
  /** When its first attempt failed (epoch ms), set then by the worker when {@link maxRetryMs} is. */
  failingSince?: number;
}

/** What a card job is made from: the version, its id, and its size as listed when known. */
export interface QueuedCard extends CardVersion {
  versionId: string;
  sizeBytes?: number | undefined;
}

/** Every card job's name (the dashboard shows it before the front key). */
export const CARD_JOB_NAME = 'card';

/** Jobs per `addBulk`: one round trip to Redis each, as many as a listing page holds. */
export const CARD_JOBS_PER_CALL = 1000;

/**
 * Default job options. Attempts with exponential backoff, jittered and capped (worker/backoff.ts),
 * carry a card across an outage of 10-20 minutes; p-retry handles the short blips inside one
 * attempt. Finished
 * jobs leave Redis: the results store, not Redis, remembers what was done, so Redis memory stays
 * bounded whatever the backlog (the failed cards' jobs are kept a day for the dashboard; a rejected
 * card's job completes, as a recognized one's does).
 */
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 8,
  backoff: { type: CARD_BACKOFF_TYPE, delay: ATTEMPT_BACKOFF.baseMs },
  removeOnComplete: true,
  removeOnFail: { age: 24 * 3600, count: 1000 },
};

/**
 * BullMQ's priority of a run's jobs (1 is taken first, then FIFO within one priority). Every card
 * job carries one: BullMQ takes a job without a priority before any prioritized job.
 */
export const JOB_PRIORITY: Readonly<Record<Priority, number>> = { high: 1, normal: 2, low: 3 };

/** How a run's jobs are made: its priority (default normal), `--reprocess`, job options, retry deadline. */
export interface CardJobOptions {
  priority?: Priority | undefined;
  reprocess?: boolean | undefined;
  jobOptions?: JobsOptions | undefined;
  maxRetryMs?: number | undefined;
}

/** One card's job: its name, payload and options, its id the card's version id. */
export function cardJob(
  runId: string,
  card: QueuedCard,
  opts: CardJobOptions = {},
): { name: string; data: CardJobData; opts: JobsOptions } {
  const data: CardJobData = {
    runId,
    bucket: card.bucket,
    frontKey: card.frontKey,
    frontEtag: card.frontEtag,
    ...(card.backKey ? { backKey: card.backKey, backEtag: card.backEtag ?? '' } : {}),
    ...(card.sizeBytes !== undefined ? { sizeBytes: card.sizeBytes } : {}),
    ...(opts.reprocess ? { reprocess: true } : {}),
    ...(opts.maxRetryMs !== undefined ? { maxRetryMs: opts.maxRetryMs } : {}),
  };
  return {
    name: CARD_JOB_NAME,
    data,
    opts: {
      ...DEFAULT_JOB_OPTIONS,
      ...opts.jobOptions,
      priority: JOB_PRIORITY[opts.priority ?? 'normal'],
      jobId: card.versionId,
    },
  };
}

/** Queues one job per card, {@link CARD_JOBS_PER_CALL} at a time; `onAdded` after each call. */
export async function addCardJobs(
  queue: Queue<CardJobData>,
  runId: string,
  cards: readonly QueuedCard[],
  opts: CardJobOptions & { perCall?: number | undefined; onAdded?: (n: number) => void } = {},
): Promise<void> {
  const perCall = opts.perCall ?? CARD_JOBS_PER_CALL;
  for (let i = 0; i < cards.length; i += perCall) {
    const chunk = cards.slice(i, i + perCall);
    await queue.addBulk(chunk.map((c) => cardJob(runId, c, opts)));
    opts.onAdded?.(chunk.length);
  }
}

/** A Redis connection for BullMQ (workers need `maxRetriesPerRequest: null`). */
export function createRedis(url: string, opts: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false, ...opts });
}
