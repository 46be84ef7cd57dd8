import { randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { createOcrClient, type OcrClient } from '../../src/ocr/client.js';
import { type EnqueueOptions, enqueueRun } from '../../src/producer/enqueueRun.js';
import { type CardJobData, createRedis, DEFAULT_QUEUE_PREFIX } from '../../src/queue.js';
import { cardQueueKeys, ownKeys } from '../../src/redisKeys.js';
import type { ResultsStore } from '../../src/results/store.js';
import { type EmulatorHandle, startEmulator } from '../../src/sandbox/emulator/emulatorServer.js';
import { type EmulatorOptions, RUNTIME_DEFAULTS } from '../../src/sandbox/emulator/options.js';
import { type LocalS3Server, startLocalS3Server } from '../../src/sandbox/localS3Server.js';
import { generateSamples, type SampleObject } from '../../src/sandbox/specimen/index.js';
import { createS3Client, putObject } from '../../src/storage/s3.js';
import { type CardWorker, type CardWorkerOptions, startCardWorker } from '../../src/worker/startWorker.js';
import { dropCardQueue } from './cardQueue.js';
import { type Backend, openTestStore } from './store.js';

export const CREDENTIAL = { secretId: 'AKIDtestpipeline0001', secretKey: 'test-secret-key-pipeline' };

/** Everything a pipeline test needs, real and on loopback: s3rver, the emulator, Redis, PGlite. */
export interface Pipeline {
  s3server: LocalS3Server;
  s3: S3Client;
  bucket: string;
  emulator: EmulatorHandle;
  store: ResultsStore;
  redisUrl: string;
  redis: Redis;
  queueName: string;
  queue: Queue<CardJobData>;
  client: OcrClient;
  dataDir: string;
  /** Renders specimens into the bucket under `prefix`; returns what was written. */
  upload(
    prefix: string,
    opts: { count: number; faults?: boolean; seed?: number; backRatio?: number },
  ): Promise<SampleObject[]>;
  enqueue(prefix: string, extra?: Partial<EnqueueOptions>): ReturnType<typeof enqueueRun>;
  startWorker(extra?: Partial<CardWorkerOptions>): Promise<CardWorker>;
  /** Resolves when no job is waiting, active or delayed (or rejects after `timeoutMs`). */
  drained(timeoutMs?: number): Promise<void>;
  /** Back to a clean slate between tests: emulator defaults, no jobs, no rows, no shared rate or pause. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

export async function startPipeline(opts: {
  redisUrl: string;
  databaseUrl: string;
  emulator?: EmulatorOptions;
  /** The results store: embedded PGlite (default), or PostgreSQL at `databaseUrl`. */
  backend?: Backend;
  /** The store's schema; default a fresh one. */
  schema?: string;
}): Promise<Pipeline> {
  const bucket = `pipe-${randomBytes(4).toString('hex')}`;
  const s3server = await startLocalS3Server({ buckets: [bucket] });
  const s3 = createS3Client({
    endpoint: s3server.endpoint,
    forcePathStyle: true,
    credentials: s3server.credentials,
  });
  const emulator = await startEmulator({ credentials: [CREDENTIAL], ...opts.emulator });
  const { store, cleanup, dataDir } = await openTestStore(
    opts.backend ?? 'pglite',
    opts.databaseUrl,
    opts.schema,
  );
  const redis = createRedis(opts.redisUrl);
  const queueName = `test-${randomBytes(6).toString('hex')}`;
  const queue = new Queue<CardJobData>(queueName, { connection: redis, prefix: DEFAULT_QUEUE_PREFIX });
  // A Redis outage (test/chaos) must not print every reconnect attempt of the test's own queue.
  queue.on('error', () => undefined);
  const client = createOcrClient({ ...CREDENTIAL, endpoint: emulator.url, timeoutMs: 10_000 });
  const workers: CardWorker[] = [];
  const p: Pipeline = {
    s3server,
    s3,
    bucket,
    emulator,
    store,
    redisUrl: opts.redisUrl,
    redis,
    queueName,
    queue,
    client,
    dataDir,
    async upload(prefix, o) {
      const out: SampleObject[] = [];
      for await (const obj of generateSamples({
        count: o.count,
        faults: o.faults ?? false,
        seed: o.seed ?? 7,
        backRatio: o.backRatio ?? 0.5,
      })) {
        await putObject(s3, bucket, `${prefix}${obj.key}`, obj.body, obj.contentType);
        out.push({ ...obj, body: Buffer.alloc(0) });
      }
      return out;
    },
    enqueue(prefix, extra = {}) {
      return enqueueRun({ sources: [`s3://${bucket}/${prefix}`], s3, store, queue, redis, ...extra });
    },
    async startWorker(extra = {}) {
      const w = await startCardWorker({
        redisUrl: opts.redisUrl,
        queueName,
        s3,
        store,
        client,
        qps: 50,
        quotaKey: queueName,
        imageMode: 'url',
        quickMinMs: 50,
        quickMaxMs: 200,
        lockDurationMs: 5000,
        stalledIntervalMs: 2000,
        ...extra,
      });
      workers.push(w);
      return w;
    },
    async drained(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
        // Cards beyond a run's window wait in the store until a worker refills the queue.
        const { rows } = await store.pool.query(
          'SELECT count(*)::int AS n FROM cards WHERE pending AND queued_at IS NULL',
        );
        c.inStore = rows[0].n;
        if (Object.values(c).every((n) => n === 0)) return;
        if (Date.now() > deadline)
          throw new Error(`queue not drained after ${timeoutMs} ms: ${JSON.stringify(c)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async reset() {
      emulator.reset();
      emulator.configure(RUNTIME_DEFAULTS);
      await queue.obliterate({ force: true });
      await store.pool.query('TRUNCATE cards, api_calls, runs CASCADE');
      await redis.del(...ownKeys(cardQueueKeys(queue)));
    },
    async close() {
      for (const w of workers) await w.close(1000).catch(() => undefined);
      await dropCardQueue(queue, redis);
      redis.disconnect();
      client.close();
      await emulator.close();
      await cleanup();
      s3.destroy();
      await s3server.close();
    },
  };
  return p;
}

/** Where a `macao-ocr` command finds its services, wherever they run (in this process or not). */
export interface ServiceEndpoints {
  redisUrl: string;
  queueName: string;
  /** The results store: embedded in `dataDir`, or PostgreSQL at `databaseUrl`. */
  store: { dataDir: string } | { databaseUrl: string };
  emulatorUrl: string;
  credential: { secretId: string; secretKey: string };
  s3: { endpoint: string; accessKeyId: string; secretAccessKey: string };
}

/** The environment that points a `macao-ocr` command at `s`: Redis and queue, store, emulator, s3rver. */
export function serviceEnv(s: ServiceEndpoints): Record<string, string> {
  return {
    REDIS_URL: s.redisUrl,
    MACAO_OCR_QUEUE: s.queueName,
    // Its own quota: test files run side by side with one made-up SecretId.
    OCR_QUOTA_KEY: s.queueName,
    ...('databaseUrl' in s.store
      ? { DATABASE_URL: s.store.databaseUrl }
      : { MACAO_OCR_DATA_DIR: s.store.dataDir }),
    OCR_ENDPOINT: s.emulatorUrl,
    TENCENTCLOUD_SECRET_ID: s.credential.secretId,
    TENCENTCLOUD_SECRET_KEY: s.credential.secretKey,
    S3_ENDPOINT: s.s3.endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: s.s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s.s3.secretAccessKey,
    AWS_REGION: 'us-east-1',
  };
}

/**
 * The environment that points a `macao-ocr` command at the pipeline's services: its Redis and
 * queue, its embedded store, the emulator with the test credential, and s3rver.
 */
export function pipelineEnv(p: Pipeline): Record<string, string> {
  return serviceEnv({
    redisUrl: p.redisUrl,
    queueName: p.queueName,
    store: { dataDir: p.dataDir },
    emulatorUrl: p.emulator.url,
    credential: CREDENTIAL,
    s3: { endpoint: p.s3server.endpoint, ...p.s3server.credentials },
  });
}

/** Cards of a run by outcome, from the store. */
export async function outcomes(store: ResultsStore, runId: string): Promise<Record<string, number>> {
  const { rows } = await store.pool.query<{ outcome: string | null; pending: boolean; n: number }>(
    'SELECT outcome, pending, count(*)::int AS n FROM cards WHERE run_id = $1 GROUP BY 1, 2',
    [runId],
  );
  const out: Record<string, number> = {};
  for (const r of rows) {
    const k = r.pending ? 'pending' : (r.outcome ?? 'none');
    out[k] = (out[k] ?? 0) + r.n;
  }
  return out;
}
