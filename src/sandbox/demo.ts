import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Config, parseConfig } from '../config.js';
import type { Logger } from '../log.js';
import { createOcrClient } from '../ocr/client.js';
import { type RunPipelineResult, type RunProgress, runPipeline } from '../runPipeline.js';
import { openServices } from '../services.js';
import { createS3Client, putObject } from '../storage/s3.js';
import { startEmulator } from './emulator/emulatorServer.js';
import { startLocalS3Server } from './localS3Server.js';
import { writeSamples } from './specimen/index.js';
import { startThrowawayRedis } from './throwawayRedis.js';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Good specimen cards; default 200 (faults come on top). */
  count?: number;
  /** Requests per second of the emulator and the workers; default 20. */
  qps?: number;
  /** Emulator latency range, ms; default 150-450. */
  latencyMs?: [number, number];
  /** Transient faults injected by the emulator; default a realistic few percent. */
  faults?: Record<string, number>;
  /** Keep everything in the temporary folder (the object store too), not just the results. */
  keep?: boolean;
  /** The key pair the emulator accepts and the workers sign with; default a random one made for the run. */
  credential?: { secretId: string; secretKey: string } | undefined;
  logger: Logger;
  onStage?: (message: string) => void;
  onProgress?: (p: RunProgress) => void;
  signal?: AbortSignal;
}

export interface DemoResult extends RunPipelineResult {
  dir: string;
  emulatorStats: { calls: number; byCode: Record<string, number>; peakPerSecond: number; billed: number };
  sampleCounts: Record<string, number>;
}

/**
 * The whole pipeline on embedded defaults, with nothing to configure: a throwaway Redis (or
 * REDIS_URL), an in-process S3 server, the API emulator with realistic latency and faults, PGlite
 * in a temporary folder. Renders specimens with the bad inputs a real bucket holds, runs them, and
 * returns the run's report.
 */
export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const stage = opts.onStage ?? (() => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'macao-ocr-demo-'));
  const cleanups: (() => Promise<void> | void)[] = [];
  try {
    let redisUrl = process.env.REDIS_URL;
    if (!redisUrl) {
      const redis = await startThrowawayRedis(dir);
      cleanups.push(redis.stop);
      redisUrl = redis.url;
      stage(`Redis: a throwaway redis-server on ${redisUrl}`);
    } else stage('Redis: REDIS_URL (a queue of its own, removed at the end)');

    const bucket = 'demo-cards';
    const s3server = await startLocalS3Server({ buckets: [bucket], directory: join(dir, 's3') });
    cleanups.push(() => s3server.close());
    stage(`object storage: an in-process S3 server on ${s3server.endpoint}, bucket ${bucket}`);

    // A key pair made up for this demo: the emulator accepts it, nothing else does.
    const credential = opts.credential ?? {
      secretId: `AKIDdemo${randomBytes(8).toString('hex')}`,
      secretKey: randomBytes(24).toString('base64url'),
    };
    const qps = opts.qps ?? 20;
    const emulator = await startEmulator({
      credentials: [credential],
      qps,
      latencyMs: opts.latencyMs ?? [150, 450],
      faults: opts.faults ?? {
        'FailedOperation.OcrFailed': 0.04,
        InternalError: 0.02,
        'FailedOperation.DownLoadError': 0.02,
        http502: 0.01,
      },
      logger: opts.logger.child({ component: 'emulator' }),
    });
    cleanups.push(() => emulator.close());
    stage(
      `OCR API: the emulator on ${emulator.url} (${qps} requests/s per key, latency and faults on; a test double, not OCR)`,
    );

    const count = opts.count ?? 200;
    const s3 = createS3Client({
      endpoint: s3server.endpoint,
      forcePathStyle: true,
      credentials: s3server.credentials,
    });
    cleanups.push(() => s3.destroy());
    const samples = await writeSamples({
      count,
      faults: true,
      seed: 2026,
      sink: async (obj) => {
        await putObject(s3, bucket, `scans/${obj.key}`, obj.body, obj.contentType);
      },
    });
    stage(
      `specimens: ${samples.cards} cards (${samples.cardsWithBack} with a back) and ${Object.values(samples.counts).reduce((a, b) => a + b, 0) - samples.counts.card} bad inputs in s3://${bucket}/scans/`,
    );

    const config: Config = {
      ...parseConfig({}),
      redisUrl,
      dataDir: join(dir, 'results'),
      s3: { endpoint: s3server.endpoint, forcePathStyle: true, region: 'us-east-1' },
      ocr: { ...parseConfig({}).ocr, endpoint: emulator.url, qps, imageMode: 'url' },
    };
    const services = await openServices(config, {
      queueName: `demo-${randomBytes(4).toString('hex')}`,
      s3Credentials: s3server.credentials,
    });
    cleanups.push(async () => {
      await services.queue.obliterate({ force: true }).catch(() => undefined);
      await services.close();
    });
    stage(`results store: embedded PGlite in ${config.dataDir}`);
    const client = createOcrClient({ ...credential, endpoint: emulator.url, timeoutMs: 10_000 });
    cleanups.push(() => client.close());

    const result = await runPipeline({
      services,
      client,
      sources: [`s3://${bucket}/scans/`],
      worker: { qps, imageMode: 'url', quickMinMs: 200, quickMaxMs: 2000 },
      logger: opts.logger,
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    return {
      ...result,
      dir,
      emulatorStats: emulator.stats(),
      sampleCounts: { ...samples.counts, cards: samples.cards },
    };
  } finally {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
    // The results store stays for `report` and `status`; the rest is scratch.
    if (!opts.keep)
      for (const sub of ['s3', 'dump.rdb']) rmSync(join(dir, sub), { recursive: true, force: true });
  }
}
