// Child of bench/worker-overhead.ts and bench/worker-memory.ts: one card worker process, as
// `macao-ocr work` builds it (startCardWorker with a results store, an S3 client, the OCR client
// and an info-level logger), on jobs the parent queued before starting it. It measures itself: CPU (process.cpuUsage, every thread of the
// process: sharp's and libuv's included) and wall time from just before the worker starts until
// `expected` cards have reached an outcome, and peak RSS (VmHWM) once before the worker starts
// (modules loaded, connections open: the idle baseline) and at the end, with the largest V8 heap
// and external (Buffer) memory seen. Prints one JSON line, a CardChildResult.
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../src/log.js';
import { createOcrClient } from '../src/ocr/client.js';
import { ResultsStore } from '../src/results/store.js';
import { createS3Client } from '../src/storage/s3.js';
import { startCardWorker } from '../src/worker/startWorker.js';
import { peakRssMb } from './lib.js';

/** What the parent passes, as one JSON argument. */
export interface CardChildArgs {
  redisUrl: string;
  queueName: string;
  databaseUrl: string;
  s3: { endpoint: string; accessKeyId: string; secretAccessKey: string };
  ocrEndpoint: string;
  secretId: string;
  secretKey: string;
  /** `--qps`: the shared rate, requests per second. */
  qps: number;
  imageMode: 'url' | 'base64';
  /** `--concurrency`; unset: automatic, as `work` without the flag. */
  concurrency?: number;
  /** Cards to wait for. */
  expected: number;
  /** Where the worker's JSON log lines go (the CLI writes them to stdout). */
  logFile: string;
  /** Give up after this long, ms. */
  timeoutMs: number;
  /** The worker's byte budget (a library option the CLI does not expose); unset: its default. */
  byteBudgetBytes?: number;
}

export interface CardChildResult {
  /** Cards that reached an outcome. */
  cards: number;
  outcomes: Record<string, number>;
  /** API calls by code, as the worker saw them. */
  calls: Record<string, number>;
  ms: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  /** Peak RSS before the worker took its first job (modules, store, Redis, S3, OCR client). */
  idleRssMb: number;
  peakRssMb: number;
  /** Largest V8 heap in use, and largest memory outside it (Buffers), sampled every 100 ms. */
  maxHeapUsedMb: number;
  maxExternalMb: number;
  /** The concurrency in force at the end. */
  concurrency: number;
  timedOut: boolean;
}

const a = JSON.parse(process.argv[2] ?? '{}') as CardChildArgs;
const log = createLogger({ name: 'worker', level: 'info', destination: createWriteStream(a.logFile) });
// The parent migrated the database; this checks its version, as `work` does.
const store = await ResultsStore.open({ databaseUrl: a.databaseUrl, dataDir: join(tmpdir(), 'unused') });
const s3 = createS3Client({
  endpoint: a.s3.endpoint,
  forcePathStyle: true,
  credentials: { accessKeyId: a.s3.accessKeyId, secretAccessKey: a.s3.secretAccessKey },
});
const client = createOcrClient({ secretId: a.secretId, secretKey: a.secretKey, endpoint: a.ocrEndpoint });
const outcomes: Record<string, number> = {};
const calls: Record<string, number> = {};
let finished = 0;
let maxHeap = 0;
let maxExternal = 0;
const sampler = setInterval(() => {
  const m = process.memoryUsage();
  maxHeap = Math.max(maxHeap, m.heapUsed);
  maxExternal = Math.max(maxExternal, m.external);
}, 100);
const idleRssMb = peakRssMb();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const worker = await startCardWorker({
  redisUrl: a.redisUrl,
  queueName: a.queueName,
  s3,
  store,
  client,
  qps: a.qps,
  quotaKey: a.queueName,
  imageMode: a.imageMode,
  concurrency: a.concurrency,
  logger: log,
  ...(a.byteBudgetBytes ? { byteBudgetBytes: a.byteBudgetBytes } : {}),
  onCall: (rec) => {
    calls[rec.code] = (calls[rec.code] ?? 0) + 1;
  },
  onOutcome: (outcome) => {
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    if (outcome === 'recognized' || outcome === 'rejected' || outcome === 'failed') finished++;
  },
});
const deadline = Date.now() + a.timeoutMs;
while (finished < a.expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
clearInterval(sampler);
const result: CardChildResult = {
  cards: finished,
  outcomes,
  calls,
  ms,
  cpuUserMs: cpu.user / 1000,
  cpuSystemMs: cpu.system / 1000,
  idleRssMb,
  peakRssMb: peakRssMb(),
  maxHeapUsedMb: maxHeap / 1024 / 1024,
  maxExternalMb: maxExternal / 1024 / 1024,
  concurrency: worker.concurrency,
  timedOut: finished < a.expected,
};
try {
  await worker.close(2000);
} finally {
  client.close();
  s3.destroy();
  await store.close();
}
console.log(JSON.stringify(result));
process.exit(0);
