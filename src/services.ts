import type { S3Client } from '@aws-sdk/client-s3';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { type Config, requireCredentials } from './config.js';
import { DEFAULTS } from './defaults.js';
import { maskSecrets } from './maskSecrets.js';
import type { OcrClient } from './ocr/client.js';
import { type CardJobData, createRedis, DEFAULT_QUEUE_PREFIX } from './queue.js';
import { ResultsStore } from './results/store.js';

/**
 * The connections a command needs, opened from the configuration and closed in reverse order.
 * `status`, `report`, `retry` and `resume` need the store and the queue only; reading scans
 * (`enqueue`, `work`, `run`) adds the object store. The AWS SDK and the Tencent SDK load only
 * for the commands that use them: they are most of a short command's start-up time.
 */
export interface QueueServices {
  config: Config;
  store: ResultsStore;
  redis: Redis;
  queue: Queue<CardJobData>;
  close(): Promise<void>;
}

/** {@link QueueServices} and the object store the scans are in. */
export interface Services extends QueueServices {
  s3: S3Client;
}

/** Options of {@link openQueueServices} and {@link openServices}. */
export interface OpenServicesOptions {
  /** The queue's name; default the configuration's. */
  queueName?: string;
  /** Object-store credentials instead of the AWS SDK's chain (the demo's local S3 server). */
  s3Credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** Opens the results store, Redis and the queue. */
export async function openQueueServices(
  config: Config,
  opts: OpenServicesOptions = {},
): Promise<QueueServices> {
  const store = await ResultsStore.open({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const redis = createRedis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
  // The socket's own error says why (ECONNREFUSED, ENOTFOUND, a refused password); the promise
  // only says the connection closed. Listening also keeps ioredis from printing its stack.
  let cause: (Error & { code?: string }) | undefined;
  const noteCause = (e: Error): void => {
    cause ??= e;
  };
  redis.on('error', noteCause);
  try {
    await redis.connect();
  } catch (e) {
    await store.close();
    redis.disconnect();
    const why = cause?.code ?? (cause ?? (e as Error)).message.replace(/\.+$/, '');
    throw new Error(
      maskSecrets(
        `cannot reach Redis at ${config.redisUrl} (${why}): is it running, and is REDIS_URL right?`,
      ),
    );
  } finally {
    redis.off('error', noteCause);
  }
  const queue = new Queue<CardJobData>(opts.queueName ?? config.queueName ?? DEFAULTS.queueName, {
    connection: redis,
    prefix: DEFAULT_QUEUE_PREFIX,
  });
  return {
    config,
    store,
    redis,
    queue,
    async close() {
      await queue.close().catch(() => undefined);
      redis.disconnect();
      await store.close();
    },
  };
}

/** Opens the results store, Redis, the queue and the object store. */
export async function openServices(config: Config, opts: OpenServicesOptions = {}): Promise<Services> {
  const { createS3Client } = await import('./storage/s3.js');
  const base = await openQueueServices(config, opts);
  const s3 = createS3Client({
    ...config.s3,
    ...(opts.s3Credentials ? { credentials: opts.s3Credentials } : {}),
  });
  return {
    ...base,
    s3,
    async close() {
      s3.destroy();
      await base.close();
    },
  };
}

/** The OCR client from the configuration; a missing credential is a configuration error. */
export async function openOcrClient(config: Config): Promise<OcrClient> {
  const credentials = requireCredentials(config);
  const { createOcrClient } = await import('./ocr/client.js');
  return createOcrClient({
    ...credentials,
    endpoint: config.ocr.endpoint,
    ...(config.ocr.region ? { region: config.ocr.region } : {}),
    timeoutMs: config.ocr.timeoutMs,
    ...(config.ocr.proxy ? { proxy: config.ocr.proxy } : {}),
  });
}
