import type { S3Client } from '@aws-sdk/client-s3';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { type Config, requireCredentials } from './config.js';
import { createOcrClient, type OcrClient } from './ocr/client.js';
import { type CardJobData, createRedis, DEFAULT_QUEUE_NAME, DEFAULT_QUEUE_PREFIX } from './queue.js';
import { ResultsStore } from './results/store.js';
import { createS3Client } from './storage/s3.js';

/** The connections a command needs, opened from the configuration and closed in reverse order. */
export interface Services {
  config: Config;
  s3: S3Client;
  store: ResultsStore;
  redis: Redis;
  queue: Queue<CardJobData>;
  close(): Promise<void>;
}

/** Opens storage, the results store, Redis and the queue. The OCR client is separate: only workers need credentials. */
export async function openServices(
  config: Config,
  opts: { queueName?: string; s3Credentials?: { accessKeyId: string; secretAccessKey: string } } = {},
): Promise<Services> {
  const store = await ResultsStore.open({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const redis = createRedis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
  try {
    await redis.connect();
  } catch (e) {
    await store.close();
    redis.disconnect();
    throw new Error(
      `cannot reach Redis at ${config.redisUrl.replace(/\/\/[^@]*@/, '//***@')}: ${(e as Error).message}. Is it running, and REDIS_URL right?`,
    );
  }
  const queue = new Queue<CardJobData>(opts.queueName ?? config.queueName ?? DEFAULT_QUEUE_NAME, {
    connection: redis,
    prefix: DEFAULT_QUEUE_PREFIX,
  });
  const s3 = createS3Client({
    ...config.s3,
    ...(opts.s3Credentials ? { credentials: opts.s3Credentials } : {}),
  });
  return {
    config,
    s3,
    store,
    redis,
    queue,
    async close() {
      s3.destroy();
      await queue.close().catch(() => undefined);
      redis.disconnect();
      await store.close();
    },
  };
}

/** The OCR client from the configuration; a missing credential is a configuration error. */
export function openOcrClient(config: Config): OcrClient {
  return createOcrClient({
    ...requireCredentials(config),
    endpoint: config.ocr.endpoint,
    ...(config.ocr.region ? { region: config.ocr.region } : {}),
    timeoutMs: config.ocr.timeoutMs,
    ...(config.ocr.proxy ? { proxy: config.ocr.proxy } : {}),
  });
}
