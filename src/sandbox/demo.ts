import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Config, parseConfig } from '../config.js';
import type { Logger } from '../log.js';
import { createOcrClient } from '../ocr/client.js';
import { type RunPipelineResult, type RunProgress, runPipeline } from '../runPipeline.js';
import { openServices, type Services } from '../services.js';
import { createS3Client, putObject } from '../storage/s3.js';
import { type EmulatorHandle, startEmulator } from './emulator/emulatorServer.js';
import { type LocalS3Server, startLocalS3Server } from './localS3Server.js';
import { type SamplesSummary, writeSamples } from './specimen/index.js';
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

/** What {@link runDemo} returns: the run's result, where its results store is, and what was sent. */
export interface DemoResult extends RunPipelineResult {
  dir: string;
  emulatorStats: { calls: number; byCode: Record<string, number>; peakPerSecond: number; billed: number };
  sampleCounts: Record<string, number>;
}

/** Where a demo keeps its scratch, reports its stages, and registers what to stop at the end. */
interface DemoScope {
  dir: string;
  stage: (message: string) => void;
  /** Run in reverse order when the demo ends, however it ends. */
  cleanups: (() => Promise<void> | void)[];
}

const BUCKET = 'demo-cards';

/**
 * The whole pipeline on embedded defaults, with nothing to configure: a throwaway Redis (or
 * REDIS_URL), an in-process S3 server, the API emulator with realistic latency and faults, PGlite
 * in a temporary folder. Renders specimens with the bad inputs a real bucket holds, runs them, and
 * returns the run's report.
 */
export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const scope: DemoScope = {
    stage: opts.onStage ?? (() => undefined),
    dir: mkdtempSync(join(tmpdir(), 'macao-ocr-demo-')),
    cleanups: [],
  };
  const { dir, cleanups } = scope;
  try {
    const redisUrl = await useRedis(scope);
    const s3server = await startLocalS3Server({ buckets: [BUCKET], directory: join(dir, 's3') });
    cleanups.push(() => s3server.close());
    scope.stage(`object storage: an in-process S3 server on ${s3server.endpoint}, bucket ${BUCKET}`);
    // A key pair made up for this demo: the emulator accepts it, nothing else does.
    const credential = opts.credential ?? {
      secretId: `AKIDdemo${randomBytes(8).toString('hex')}`,
      secretKey: randomBytes(24).toString('base64url'),
    };
    const qps = opts.qps ?? 20;
    const emulator = await useEmulator(scope, opts, credential, qps);
    const samples = await uploadSamples(scope, s3server, opts.count ?? 200);
    const services = await openDemoServices(scope, { redisUrl, s3server, emulatorUrl: emulator.url, qps });
    const client = createOcrClient({ ...credential, endpoint: emulator.url, timeoutMs: 10_000 });
    cleanups.push(() => client.close());

    const result = await runPipeline({
      services,
      client,
      sources: [`s3://${BUCKET}/scans/`],
      worker: { qps, quotaKey: credential.secretId, imageMode: 'url', quickMinMs: 200, quickMaxMs: 2000 },
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

/** REDIS_URL when set, else a throwaway redis-server in the demo's folder. */
async function useRedis(scope: DemoScope): Promise<string> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv) {
    scope.stage('Redis: REDIS_URL (a queue of its own, removed at the end)');
    return fromEnv;
  }
  const redis = await startThrowawayRedis(scope.dir);
  scope.cleanups.push(redis.stop);
  scope.stage(`Redis: a throwaway redis-server on ${redis.url}`);
  return redis.url;
}

async function useEmulator(
  scope: DemoScope,
  opts: DemoOptions,
  credential: { secretId: string; secretKey: string },
  qps: number,
): Promise<EmulatorHandle> {
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
  scope.cleanups.push(() => emulator.close());
  scope.stage(
    `OCR API: the emulator on ${emulator.url} (${qps} requests/s per key, latency and faults on, so the warnings below are expected; a test double, not OCR)`,
  );
  return emulator;
}

/** Renders `count` specimens and the bad inputs (seed 2026) into `s3://demo-cards/scans/`. */
async function uploadSamples(
  scope: DemoScope,
  s3server: LocalS3Server,
  count: number,
): Promise<SamplesSummary> {
  const s3 = createS3Client({
    endpoint: s3server.endpoint,
    forcePathStyle: true,
    credentials: s3server.credentials,
  });
  scope.cleanups.push(() => s3.destroy());
  const samples = await writeSamples({
    count,
    faults: true,
    seed: 2026,
    sink: async (obj) => {
      await putObject(s3, BUCKET, `scans/${obj.key}`, obj.body, obj.contentType);
    },
  });
  scope.stage(
    `specimens: ${samples.cards} cards (${samples.cardsWithBack} with a back) and ${Object.values(samples.counts).reduce((a, b) => a + b, 0) - samples.counts.card} bad inputs in s3://${BUCKET}/scans/`,
  );
  return samples;
}

/** The demo's services: its Redis, the local S3 server, the emulator, PGlite in the demo's folder. */
async function openDemoServices(
  scope: DemoScope,
  via: { redisUrl: string; s3server: LocalS3Server; emulatorUrl: string; qps: number },
): Promise<Services> {
  const { redisUrl, s3server, emulatorUrl, qps } = via;
  const defaults = parseConfig({});
  const config: Config = {
    ...defaults,
    redisUrl,
    dataDir: join(scope.dir, 'results'),
    s3: { endpoint: s3server.endpoint, forcePathStyle: true, region: 'us-east-1' },
    ocr: { ...defaults.ocr, endpoint: emulatorUrl, qps, imageMode: 'url' },
  };
  const services = await openServices(config, {
    queueName: `demo-${randomBytes(4).toString('hex')}`,
    s3Credentials: s3server.credentials,
  });
  scope.cleanups.push(async () => {
    await services.queue.obliterate({ force: true }).catch(() => undefined);
    await services.close();
  });
  scope.stage(`results store: embedded PGlite in ${config.dataDir}`);
  return services;
}
