// Child of bench/producer.ts: the producer as the `run`/`enqueue` commands run it. Opens a
// results store (embedded PGlite in dataDir, or PostgreSQL) and a BullMQ queue, then, in mode
// `enqueue`, runs enqueueRun over s3://BUCKET/cards/; in mode `open` stops there (the baseline:
// what loading the modules and opening the store cost before any object is seen).
// Prints an EnqueueChildResult. enqueueRun awaits each page's ledger and queue work before it
// asks for the next page, so ms = listMs (inside ListObjectsV2 calls) + the producer's own time.

import { readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import { keepHeapSmall } from '../src/cli/heap.js';
import { type EnqueueCounts, enqueueRun } from '../src/producer/enqueueRun.js';
import { type CardJobData, createRedis, DEFAULT_QUEUE_PREFIX } from '../src/queue.js';
import { ResultsStore } from '../src/results/store.js';
import { createS3Client } from '../src/storage/s3.js';
import { peakRssMb } from './lib.js';

/** What the parent passes, as one JSON argument. */
export interface EnqueueChildArgs {
  mode: 'open' | 'enqueue';
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  dataDir: string;
  schema: string;
  /** Unset: embedded PGlite in dataDir. */
  databaseUrl?: string;
  redisUrl: string;
  queueName: string;
}

export interface EnqueueChildResult {
  /** enqueueRun's wall time (0 in mode `open`). */
  ms: number;
  /** Opening the store (PGlite: create or reopen, migrations). */
  openMs: number;
  /** Time inside ListObjectsV2 calls, and how many. */
  listMs: number;
  listCalls: number;
  /** Time inside the store's ledger query, its row writes, and BullMQ's addBulk. */
  ledgerMs: number;
  recordMs: number;
  addBulkMs: number;
  counts: EnqueueCounts | null;
  /** Resident and live-heap MB after every 10th listing page: flat, or climbing with the count? */
  trace: { found: number; rssMb: number; heapMb: number }[];
  jobsInQueue: number;
  maxRssMb: number;
  /** Live heap after a full GC at the end (run with --expose-gc): what the producer retained. */
  liveHeapMb: number;
}

const rssMb = (): number =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) / 1024;
const trace: EnqueueChildResult['trace'] = [];
let pages = 0;

const args = JSON.parse(process.argv[2] ?? '{}') as EnqueueChildArgs;
// As `macao-ocr enqueue` does (src/cli/enqueueCommand.ts).
keepHeapSmall();

const timers = { listMs: 0, listCalls: 0, ledgerMs: 0, recordMs: 0, addBulkMs: 0 };
/** Wraps an instance's async method to add its time to one timer. */
function timed<T extends object, K extends keyof T>(obj: T, method: K, timer: keyof typeof timers): void {
  const f = obj[method] as (...a: unknown[]) => Promise<unknown>;
  obj[method] = (async (...a: unknown[]) => {
    const t = performance.now();
    try {
      return await f.apply(obj, a);
    } finally {
      timers[timer] += performance.now() - t;
    }
  }) as T[K];
}

const s3 = createS3Client({
  endpoint: args.endpoint,
  forcePathStyle: true,
  credentials: { accessKeyId: args.accessKeyId, secretAccessKey: args.secretAccessKey },
});
s3.middlewareStack.add(
  (next, context) => async (input) => {
    if (context.commandName !== 'ListObjectsV2Command') return next(input);
    const t = performance.now();
    try {
      return await next(input);
    } finally {
      timers.listMs += performance.now() - t;
      timers.listCalls++;
    }
  },
  { step: 'initialize', name: 'benchListTimer' },
);
const tOpen = performance.now();
const store = await ResultsStore.open({
  migrate: true,
  dataDir: args.dataDir,
  schema: args.schema,
  ...(args.databaseUrl ? { databaseUrl: args.databaseUrl } : {}),
});
const openMs = performance.now() - tOpen;
const redis = createRedis(args.redisUrl);
const queue = new Queue<CardJobData>(args.queueName, { connection: redis, prefix: DEFAULT_QUEUE_PREFIX });
try {
  await queue.waitUntilReady();
  timed(store, 'outcomesOf', 'ledgerMs');
  timed(store, 'recordSeen', 'recordMs');
  timed(queue, 'addBulk', 'addBulkMs');
  let counts: EnqueueCounts | null = null;
  const t0 = performance.now();
  if (args.mode === 'enqueue') {
    ({ counts } = await enqueueRun({
      sources: [`s3://${args.bucket}/cards/`],
      ...{ s3, store, queue, redis },
      onProgress: (c) => {
        if (++pages % 10 === 0)
          trace.push({
            found: c.found,
            rssMb: rssMb(),
            heapMb: process.memoryUsage().heapUsed / 1024 / 1024,
          });
      },
    }));
  }
  const ms = performance.now() - t0;
  // The peak before the count below, which is the benchmark's check, not the producer's work.
  const maxRssMb = peakRssMb();
  (globalThis as { gc?: () => void }).gc?.();
  const liveHeapMb = process.memoryUsage().heapUsed / 1024 / 1024;
  const jobsInQueue = await queue.count();
  const result: EnqueueChildResult = {
    ms,
    openMs,
    ...timers,
    counts,
    trace,
    jobsInQueue,
    maxRssMb,
    liveHeapMb,
  };
  console.log(JSON.stringify(result));
} finally {
  await queue.close();
  redis.disconnect();
  await store.close();
  s3.destroy();
}
