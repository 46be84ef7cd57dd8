// What the worker benchmarks (bench/worker-quota.ts, worker-overhead.ts, worker-memory.ts, and
// bench/worker.ts, which runs the three) stand on. Every service runs in a process of its own, so
// that a measured worker's CPU and memory are its own (they still share the machine's cores):
// s3rver (bench/worker-s3.child.ts), the API emulator (`macao-ocr emulator`), PostgreSQL (a fresh
// database, dropped at the end: `work` uses schema public) and Redis (a fresh queue per run,
// obliterated after it).
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { S3Client } from '@aws-sdk/client-s3';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { fillWindow, runJobsOf } from '../../src/producer/window.js';
import { type CardJobData, DEFAULT_QUEUE_PREFIX } from '../../src/queue.js';
import { versionId } from '../../src/results/cardVersion.js';
import type { ResultsStore } from '../../src/results/store.js';
import type { Priority } from '../../src/results/types.js';
import { createS3Client, putObject } from '../../src/storage/s3.js';
import { dropCardQueue } from '../../test/support/cardQueue.js';
import { CREDENTIAL, type ServiceEndpoints } from '../../test/support/pipeline.js';
import { type EmulatorProcess, spawnEmulator, TSX } from '../../test/support/processes.js';
import { createDatabase, openTestStore } from '../../test/support/store.js';
import { fmt, runNodeChild } from '../lib.js';
import type { CardChildArgs, CardChildResult } from '../worker-card.child.js';
import { startServiceChild, stopAllChildren, track } from './processes.js';
import { cleanupOnce, connectRedis, loadAverage, SERVICE_OPTIONS } from './setup.js';
import { REPO_ROOT, transpileForChildren } from './transpile.js';

/** The one bucket every worker benchmark uploads to. */
export const BUCKET = 'bench-worker';

/** Extra node flags for the measured children of the overhead and memory benchmarks, e.g. `--cpu-prof`. */
export const CHILD_OPTIONS = { 'child-node-flags': { type: 'string', default: '' } } as const;

export interface WorkerBench {
  /** A temporary directory, removed at the end: s3rver's objects, the children's logs, the build. */
  root: string;
  redisUrl: string;
  redis: Redis;
  /** The fresh database, schema public. */
  databaseUrl: string;
  store: ResultsStore;
  s3: S3Client;
  s3Service: { endpoint: string; accessKeyId: string; secretAccessKey: string; proc: ChildProcess };
  emulator: EmulatorProcess & {
    reset(): Promise<void>;
    /** `POST /_emulator/config`: limit, latency, faults, download limit. */
    configure(options: Record<string, unknown>): Promise<void>;
  };
  /** src/ and bench/ transpiled to plain JavaScript (on first use), for the measured children. */
  build(): string;
  childNodeFlags: string[];
}

/** Where a `macao-ocr work` process on `queueName` finds this bench's services. */
export function endpoints(ctx: WorkerBench, queueName: string): ServiceEndpoints {
  const { proc: _, ...s3 } = ctx.s3Service;
  return {
    redisUrl: ctx.redisUrl,
    queueName,
    store: { databaseUrl: ctx.databaseUrl },
    emulatorUrl: ctx.emulator.url,
    credential: CREDENTIAL,
    s3,
  };
}

/** A fresh queue name on the shared Redis; removed with its schedules' queue by {@link dropQueue}. */
export function newQueue(ctx: WorkerBench): Queue<CardJobData> {
  return new Queue<CardJobData>(`bench-worker-${randomBytes(5).toString('hex')}`, {
    connection: ctx.redis,
    prefix: DEFAULT_QUEUE_PREFIX,
  });
}

export function dropQueue(ctx: WorkerBench, queue: Queue<CardJobData>): Promise<void> {
  return dropCardQueue(queue, ctx.redis);
}

/** An object in the bucket, as listed. */
export interface BenchObject {
  key: string;
  etag: string;
  bytes: number;
}

/** Writes `body` to the bucket at `key`. */
export async function putBenchObject(
  ctx: WorkerBench,
  key: string,
  body: Buffer,
  contentType: string,
): Promise<BenchObject> {
  const { etag } = await putObject(ctx.s3, BUCKET, key, body, contentType);
  return { key, etag: etag ?? '', bytes: body.length };
}

/** How {@link queueCopies} makes its run: as `enqueue --priority P --window N` does. */
export interface CopiesOptions {
  /** The run's priority, which its jobs carry; default normal. */
  priority?: Priority;
  /** Jobs of the run in Redis at once (the rest wait as pending rows for the workers' refill); default all `n`. */
  window?: number;
}

/**
 * Queues `n` card jobs the way enqueueRun writes them (a run with its priority and window,
 * pending card rows first, then the jobs of its window by `fillWindow`, with the default job
 * options and the version id as job id), cycling over `objects`: each job has a version id of
 * its own but names an existing object. For benchmarks that do not measure the listing, where
 * thousands of distinct uploads would only cost time. Returns the run's id.
 */
export async function queueCopies(
  ctx: WorkerBench,
  queue: Queue<CardJobData>,
  objects: BenchObject[],
  n: number,
  opts: CopiesOptions = {},
): Promise<string> {
  const run = await ctx.store.createRun({
    sources: [`s3://${BUCKET}/bench-copies`],
    priority: opts.priority ?? 'normal',
    windowSize: opts.window ?? Math.max(1, n),
    queue: queue.name,
  });
  const cards = Array.from({ length: n }, (_, i) => {
    const o = objects[i % objects.length]!;
    // The queue name and the run keep ids apart between runs: the ledger would skip a recognized
    // id, and a job id that exists adds nothing.
    const id = versionId({
      bucket: BUCKET,
      frontKey: `${o.key}#${queue.name}#${run.id}#${i}`,
      frontEtag: o.etag,
    });
    return { versionId: id, bucket: BUCKET, frontKey: o.key, frontEtag: o.etag, sizeBytes: o.bytes };
  });
  await ctx.store.recordSeen(run.id, cards);
  await fillWindow(ctx.store, queue, runJobsOf(run), { candidates: cards });
  await ctx.store.setRunState(run.id, 'running');
  return run.id;
}

/** Runs `run` on a fresh queue holding `n` copies of `objects` ({@link queueCopies}), dropped after it. */
export async function onCopies<T>(
  ctx: WorkerBench,
  objects: BenchObject[],
  n: number,
  run: (queue: Queue<CardJobData>) => Promise<T>,
): Promise<T> {
  const queue = newQueue(ctx);
  try {
    await queueCopies(ctx, queue, objects, n);
    return await run(queue);
  } finally {
    await dropQueue(ctx, queue);
  }
}

/** Runs a transpiled bench child with plain node (and --child-node-flags); its last JSON line. */
export function runBuilt<T>(ctx: WorkerBench, script: string, arg: unknown): Promise<T> {
  return runNodeChild<T>(join(ctx.build(), 'bench', script), [JSON.stringify(arg)], {}, ctx.childNodeFlags);
}

/**
 * One measured card worker (bench/worker-card.child.ts) on this run's services and `queue`, with
 * no rate limit in effect (`--qps 100000`: the limiter still runs, one Redis script per call).
 */
export function runCardChild(
  ctx: WorkerBench,
  queue: Queue<CardJobData>,
  imageMode: 'url' | 'base64',
  run: Pick<CardChildArgs, 'concurrency' | 'expected' | 'logFile' | 'timeoutMs' | 'byteBudgetBytes'>,
): Promise<CardChildResult> {
  const { proc: _, ...s3 } = ctx.s3Service;
  const a: CardChildArgs = {
    redisUrl: ctx.redisUrl,
    queueName: queue.name,
    databaseUrl: ctx.databaseUrl,
    s3,
    ocrEndpoint: ctx.emulator.url,
    ...CREDENTIAL,
    qps: 100_000,
    imageMode,
    ...run,
  };
  return runBuilt<CardChildResult>(ctx, 'worker-card.child.js', a);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const verdict = (ok: boolean): string => (ok ? 'met' : 'NOT MET');
export const joinCounts = (counts: Record<string, number>): string =>
  Object.entries(counts)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

/** Whether the module of `metaUrl` is the script this process was started for, not an import. */
export function isMain(metaUrl: string): boolean {
  return process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(metaUrl);
}

/**
 * Starts the services, runs `sections` in order (each prints its own table and bars), and
 * removes everything it made (services, database, temporary directory, queues), also on SIGINT.
 */
export async function runWorkerBench(
  flags: {
    'database-url'?: string | undefined;
    'redis-url'?: string | undefined;
    'child-node-flags'?: string | undefined;
  },
  sections: [name: string, run: (ctx: WorkerBench) => Promise<void>][],
): Promise<void> {
  const redisUrl = flags['redis-url'] ?? SERVICE_OPTIONS['redis-url'].default;
  const redis = await connectRedis(redisUrl);
  const db = await createDatabase(
    flags['database-url'] ?? SERVICE_OPTIONS['database-url'].default,
    'bench_worker',
  );
  const root = mkdtempSync(join(tmpdir(), 'macao-ocr-bench-worker-'));
  const t0 = performance.now();
  let closeStore: (() => Promise<void>) | undefined;
  const cleanup = cleanupOnce(async () => {
    await closeStore?.().catch(() => undefined);
    await stopAllChildren();
    await db.drop().catch(() => undefined);
    redis.disconnect();
    rmSync(root, { recursive: true, force: true });
  });
  try {
    mkdirSync(join(root, 's3'));
    const s3Service = await startServiceChild<WorkerBench['s3Service']>(
      ['--openssl-legacy-provider', '--import', TSX],
      join(REPO_ROOT, 'bench', 'worker-s3.child.ts'),
      [join(root, 's3'), BUCKET],
      { cwd: REPO_ROOT },
    );
    const emu = await spawnEmulator(CREDENTIAL, ['--seed', '5']);
    track(emu.child);
    const control = async (path: 'reset' | 'config', body: unknown = {}): Promise<void> => {
      const res = await fetch(`${emu.url}/_emulator/${path}`, { method: 'POST', body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`emulator ${path}: HTTP ${res.status} ${await res.text()}`);
    };
    const opened = await openTestStore('postgres', db.url, 'public');
    closeStore = opened.cleanup;
    let build: string | undefined;
    const ctx: WorkerBench = {
      root,
      redisUrl,
      redis,
      databaseUrl: db.url,
      store: opened.store,
      s3: createS3Client({
        endpoint: s3Service.endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: s3Service.accessKeyId, secretAccessKey: s3Service.secretAccessKey },
      }),
      s3Service,
      emulator: { ...emu, reset: () => control('reset'), configure: (o) => control('config', o) },
      build: () => {
        if (!build) {
          build = join(root, 'js');
          transpileForChildren(build);
        }
        return build;
      },
      childNodeFlags: (flags['child-node-flags'] ?? '').split(' ').filter(Boolean),
    };
    console.log(
      `worker bench: ${new Date().toISOString()}, node ${process.version}, ${cpus().length} cores, load average ${loadAverage()}; results store PostgreSQL (database ${db.name}), Redis ${redisUrl}`,
    );
    for (const [name, run] of sections) {
      const s0 = performance.now();
      await run(ctx);
      console.log(
        `  (${name}: ${fmt((performance.now() - s0) / 1000)} s; load average now ${loadAverage()})`,
      );
    }
    ctx.s3.destroy();
    console.log(`\ntotal ${fmt((performance.now() - t0) / 1000)} s`);
  } finally {
    await cleanup();
  }
}
