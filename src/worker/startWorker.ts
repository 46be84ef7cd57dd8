import type { S3Client } from '@aws-sdk/client-s3';
import { type Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { DEFAULTS } from '../defaults.js';
import { type Logger, silentLogger } from '../log.js';
import type { NoticeOptions } from '../notice.js';
import type { CallRecord, OcrClient } from '../ocr/client.js';
import { type CardJobData, createRedis, DEFAULT_QUEUE_PREFIX } from '../queue.js';
import { type CardQueueKeys, cardQueueKeys, quotaKeys } from '../redisKeys.js';
import type { ResultsStore } from '../results/store.js';
import { ATTEMPT_BACKOFF, type BackoffOptions, backoffDelayMs } from './backoff.js';
import { ByteBudget } from './byteBudget.js';
import type { CardContext, CardJobResult } from './cardContext.js';
import { CircuitBreaker } from './circuitBreaker.js';
import { ConcurrencyTuner } from './concurrencyTuner.js';
import { startHeartbeat } from './heartbeat.js';
import { lockLeftMs } from './lockLeft.js';
import { openPortraits, type PortraitsPlace } from './portrait.js';
import { processCard } from './processCard.js';
import { RateLimiter, type RateLimiterOptions } from './rateLimiter.js';
import { type RunKeeper, startRunKeeper } from './runKeeper.js';
import { closeWorker } from './shutdown.js';
import { recordStalledCards } from './stalledJobs.js';
import { logWorkerEvents } from './workerEvents.js';

/** Options of {@link startCardWorker}. */
export interface CardWorkerOptions {
  redisUrl: string;
  /** Queue name; default `cards`. */
  queueName?: string;
  /** BullMQ key prefix; default `{macao-ocr}` (a Redis Cluster hash tag). */
  prefix?: string;
  s3: S3Client;
  /** Signs the presigned URLs the provider downloads (`S3_PRESIGN_ENDPOINT`); default {@link s3}. */
  presignS3?: S3Client | undefined;
  store: ResultsStore;
  client: OcrClient;
  /** `OCR_QPS`: the account's rate for all workers together, requests per second. */
  qps: number;
  /**
   * The account whose quota {@link qps} is (`OCR_QUOTA_KEY`, or the SecretId): every worker that
   * names the same one, of any queue under the same prefix, shares one rate.
   */
  quotaKey: string;
  /** `OCR_RATE_GUARD_MS`: see {@link RateLimiterOptions.guardMs}; default 30. */
  rateGuardMs?: number;
  /** `OCR_IMAGE_MODE`. */
  imageMode: 'url' | 'base64';
  /** Fixed concurrency; unset: follows rate × observed latency, within 2..{@link maxConcurrency}. */
  concurrency?: number | undefined;
  /** Upper bound of the automatic concurrency; default 256. */
  maxConcurrency?: number;
  /** Bytes of images held in memory at once (inline mode); default 256 MB. */
  byteBudgetBytes?: number;
  /**
   * `MACAO_OCR_MAX_PIXELS`: most pixels (width × height) an image may have. The pre-flight reads
   * each image's header before any call and rejects more (`Image.TooManyPixels`, unpaid); every
   * decode in the worker is held to it too. Default {@link DEFAULTS.maxPixels} (50,000,000).
   */
  maxPixels?: number;
  /** `s3://bucket/prefix` for `RetImage` portraits; unset: portraits are not asked for. */
  portraits?: string | undefined;
  /** `S3_PRESIGN_TTL_S`: lifetime of presigned URLs, s; default 60 (the provider downloads within 3 s). */
  presignTtlSec?: number;
  /** How long a job's lock lasts without renewal, ms; a killed worker's jobs run again after about this. Default 30,000. */
  lockDurationMs?: number;
  /** How often stalled jobs are looked for, ms; default 15,000. */
  stalledIntervalMs?: number;
  /** How many times a card may be left by its worker (a crash, a stall) before BullMQ fails it; default 3. */
  maxStalledCount?: number;
  /**
   * Quick retries inside one attempt; default 3, the first after 100-200 ms, then twice as long
   * each time (up to 5 s). Short, as the AWS SDKs' standard retry mode (100 ms base): every retry
   * takes its turn in the shared rate, so retrying sooner never raises the request rate, and a
   * storm of failures cools the rate down (circuitBreaker.ts).
   */
  quickRetries?: number;
  quickMinMs?: number;
  quickMaxMs?: number;
  /** The backoff between BullMQ attempts; default {@link ATTEMPT_BACKOFF} (10 s doubling to 10 min, half of it random). */
  attemptBackoff?: BackoffOptions;
  /** The run-finished notices this worker sends (its secret, retries); default none signed, none sent. */
  notices?: NoticeOptions;
  /** How often the run keeper looks at the runs (done, windows, notices), ms; default 1,000. */
  keeperEveryMs?: number;
  logger?: Logger;
  onCall?: (record: CallRecord) => void;
  onOutcome?: CardContext['onOutcome'];
}

/** A running card worker, as {@link startCardWorker} returns it. */
export interface CardWorker {
  worker: Worker<CardJobData, CardJobResult>;
  queue: Queue<CardJobData>;
  limiter: RateLimiter;
  /** Marks drained runs done, refills windows, sends notices (runKeeper.ts). */
  keeper: RunKeeper;
  /** Jobs being processed by this process. */
  readonly inFlight: number;
  /** The concurrency in force. */
  readonly concurrency: number;
  /**
   * Graceful stop: take no new jobs, let in-flight cards finish within `graceMs`, then cancel the
   * rest (they go back to the queue without spending an attempt), close connections.
   */
  close(graceMs?: number): Promise<void>;
}

/** Starts a worker process's BullMQ worker for card jobs. */
export async function startCardWorker(opts: CardWorkerOptions): Promise<CardWorker> {
  const log = opts.logger ?? silentLogger;
  const queueName = opts.queueName ?? DEFAULTS.queueName;
  const prefix = opts.prefix ?? DEFAULT_QUEUE_PREFIX;
  const portraits = await openPortraits(opts.s3, opts.portraits, log);
  const redis: Redis = createRedis(opts.redisUrl);
  const workerRedis: Redis = createRedis(opts.redisUrl);
  const queue = new Queue<CardJobData>(queueName, { connection: redis, prefix });
  const keys = cardQueueKeys(queue);
  const limiter = new RateLimiter(redis, {
    keys: quotaKeys(prefix, opts.quotaKey),
    maxQps: opts.qps,
    ...(opts.rateGuardMs !== undefined ? { guardMs: opts.rateGuardMs } : {}),
  });
  const tuner = new ConcurrencyTuner(limiter, {
    qps: opts.qps,
    fixed: opts.concurrency,
    max: opts.maxConcurrency ?? 256,
  });
  const ctx = cardContext(opts, { redis, queue, keys, limiter, tuner, portraits, log });

  let active = 0;
  const worker = new Worker<CardJobData, CardJobResult>(
    queueName,
    async (job: Job<CardJobData>, token?: string, signal?: AbortSignal) => {
      active++;
      try {
        return await processCard(ctx, job, token, signal ?? new AbortController().signal);
      } finally {
        active--;
      }
    },
    {
      connection: workerRedis,
      prefix,
      concurrency: tuner.initial,
      autorun: true,
      lockDuration: opts.lockDurationMs ?? DEFAULTS.lockMs,
      stalledInterval: opts.stalledIntervalMs ?? 15_000,
      maxStalledCount: opts.maxStalledCount ?? 3,
      // Card jobs carry CARD_BACKOFF_TYPE, which BullMQ hands to this strategy.
      settings: {
        backoffStrategy: (attemptsMade: number) =>
          backoffDelayMs(attemptsMade, opts.attemptBackoff ?? ATTEMPT_BACKOFF),
      },
    },
  );
  logWorkerEvents(worker, queue, log);
  recordStalledCards(worker, opts.store, log, opts.onOutcome);
  await worker.waitUntilReady();
  tuner.start(worker);
  const keeper = startRunKeeper({
    store: opts.store,
    queue,
    redis,
    log,
    notices: opts.notices ?? { secret: undefined },
    ...(opts.keeperEveryMs !== undefined ? { everyMs: opts.keeperEveryMs } : {}),
  });

  const heartbeat = startHeartbeat(redis, keys.workers, {
    secretId: opts.client.credential.secretId,
    credential: opts.client.credential.fingerprint,
  });

  let closing: Promise<void> | undefined;
  const parts = { worker, queue, connections: [redis, workerRedis], log, inFlight: () => active };
  return {
    worker,
    queue,
    limiter,
    keeper,
    get inFlight() {
      return active;
    },
    get concurrency() {
      return worker.concurrency;
    },
    close(graceMs = DEFAULTS.graceMs) {
      closing ??= (async () => {
        tuner.stop();
        await heartbeat.stop();
        await keeper.stop();
        await closeWorker(parts, graceMs);
      })();
      return closing;
    },
  };
}

/** What a card job needs, built once per worker process. */
function cardContext(
  opts: CardWorkerOptions,
  deps: {
    redis: Redis;
    queue: Queue<CardJobData>;
    keys: CardQueueKeys;
    limiter: RateLimiter;
    tuner: ConcurrencyTuner;
    portraits: PortraitsPlace | undefined;
    log: Logger;
  },
): CardContext {
  const { redis, queue, keys, limiter, tuner, log } = deps;
  return {
    s3: opts.s3,
    presignS3: opts.presignS3,
    store: opts.store,
    client: opts.client,
    limiter,
    budget: new ByteBudget(opts.byteBudgetBytes ?? DEFAULTS.byteBudgetBytes),
    breaker: new CircuitBreaker({
      queue,
      redis,
      store: opts.store,
      limiter,
      logger: log,
      credential: opts.client.credential,
    }),
    logger: log,
    imageMode: opts.imageMode,
    inline: { untilMs: 0 },
    presignTtlSec: opts.presignTtlSec ?? DEFAULTS.presignTtlSec,
    maxPixels: positive('maxPixels', opts.maxPixels ?? DEFAULTS.maxPixels),
    portraits: deps.portraits,
    quickRetries: opts.quickRetries ?? 3,
    quickMinMs: opts.quickMinMs ?? 100,
    quickMaxMs: opts.quickMaxMs ?? 5000,
    rateLimitQueue: (ms) => queue.rateLimit(ms),
    lockRemainingMs: async (jobId, token) => {
      if (!token) return Number.POSITIVE_INFINITY;
      return lockLeftMs(redis, keys.jobLock(jobId), token);
    },
    onCall: (rec) => {
      tuner.observe(rec.latencyMs);
      opts.onCall?.(rec);
    },
    ...(opts.onOutcome ? { onOutcome: opts.onOutcome } : {}),
  };
}

/** `value`, or an error naming the option when it is not a number > 0. */
function positive(option: string, value: number): number {
  if (!(value > 0)) throw new Error(`\`${option}\` must be a number > 0, got \`${value}\``);
  return value;
}
