// Child of bench/worker-overhead.ts: BullMQ's bare cost. A Worker on the same Redis, queue prefix,
// lock settings and concurrency as the card worker, whose processor returns at once, over jobs the
// parent queued before starting it (same job options as the producer's). Measures CPU and wall
// time from just before the worker starts until `expected` jobs were processed; prints one JSON
// line, a NoopChildResult.
import { Worker } from 'bullmq';
import { createRedis, DEFAULT_QUEUE_PREFIX } from '../src/queue.js';

export interface NoopChildArgs {
  redisUrl: string;
  queueName: string;
  concurrency: number;
  expected: number;
  timeoutMs: number;
}

export interface NoopChildResult {
  jobs: number;
  ms: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  timedOut: boolean;
}

const a = JSON.parse(process.argv[2] ?? '{}') as NoopChildArgs;
const connection = createRedis(a.redisUrl);
let done = 0;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const worker = new Worker(
  a.queueName,
  async () => {
    done++;
  },
  {
    connection,
    prefix: DEFAULT_QUEUE_PREFIX,
    concurrency: a.concurrency,
    lockDuration: 30_000,
    stalledInterval: 15_000,
    maxStalledCount: 3,
  },
);
const deadline = Date.now() + a.timeoutMs;
while (done < a.expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
await worker.close();
connection.disconnect();
const result: NoopChildResult = {
  jobs: done,
  ms,
  cpuUserMs: cpu.user / 1000,
  cpuSystemMs: cpu.system / 1000,
  timedOut: done < a.expected,
};
console.log(JSON.stringify(result));
process.exit(0);
