// What do the ledger and the queue add to listing, and how much memory does the producer hold?
//   npm run bench -- producer [--objects 10000,100000] [--populate files|http]
//                             [--database-url postgres://...] [--redis-url redis://...]
// Bars: enqueue adds at most 30% to the bare ListObjectsV2 listing time of 100,000
// objects; the producer's peak RSS under 200 MB at 100,000 objects and not growing with the count.
//
// Every measured run is its own child process, so each peak RSS is one run's: the bare listing,
// the store-only baselines, and enqueueRun on PGlite and on PostgreSQL (if reachable) with a
// fresh BullMQ queue. The children run as plain JavaScript transpiled from src/ and bench/, as
// the CLI runs from dist/: the tsx loader alone adds 30-70 MB of RSS. s3rver runs in one more
// child, with --openssl-legacy-provider (its continuation tokens use DES).
import { type ChildProcess, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { DEFAULTS, defaultWindow } from '../src/defaults.js';
import { createRedis, DEFAULT_QUEUE_PREFIX } from '../src/queue.js';
import { dropCardQueue } from '../test/support/cardQueue.js';
import { dropSchema } from '../test/support/store.js';
import { startServiceChild, stopChild } from './lib/processes.js';
import { SERVICE_OPTIONS } from './lib/setup.js';
import { transpileForChildren } from './lib/transpile.js';
import { fmt, printTable, runNodeChild } from './lib.js';
import type { EnqueueChildArgs, EnqueueChildResult } from './producer-enqueue.child.js';

const { values: args } = parseArgs({
  options: {
    objects: { type: 'string', default: '10000,100000' },
    populate: { type: 'string', default: 'files' },
    ...SERVICE_OPTIONS,
  },
});
const sizes = args.objects!.split(',').map(Number);
if (sizes.length < 1 || sizes.some((n) => !Number.isInteger(n) || n <= 0 || n % 4 !== 0))
  throw new Error(`--objects must be positive multiples of 4, comma-separated, got \`${args.objects}\``);
if (args.populate !== 'files' && args.populate !== 'http')
  throw new Error(`--populate must be files or http, got \`${args.populate}\``);
const databaseUrl = args['database-url']!;
const redisUrl = args['redis-url']!;
const RSS_BAR_MB = 200;
const OVERHEAD_BAR = 0.3;
/** "Not growing": the peak at the largest count within 10% of the peak at the smallest. */
const GROWTH_TOLERANCE = 0.1;
const nMin = Math.min(...sizes);
const nMax = Math.max(...sizes);

/** Runs a transpiled child script with plain node (and --expose-gc); the JSON line it prints last. */
const child = <T>(build: string, script: string, childArgs: string[]): Promise<T> =>
  runNodeChild<T>(join(build, 'bench', script), childArgs, {}, ['--expose-gc']);

async function reachable(what: 'postgres' | 'redis', url: string): Promise<boolean> {
  try {
    if (what === 'postgres') {
      const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
      await c.connect();
      await c.end();
    } else {
      const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      await r.connect();
      await r.ping();
      r.disconnect();
    }
    return true;
  } catch {
    return false;
  }
}

const backends: ('pglite' | 'postgres')[] = ['pglite'];
if (await reachable('postgres', databaseUrl)) backends.push('postgres');
else console.log(`no PostgreSQL at ${databaseUrl.replace(/:[^:@/]*@/, ':***@')}: PGlite only`);
if (!(await reachable('redis', redisUrl))) throw new Error(`no Redis at ${redisUrl}: set REDIS_URL`);
const label = { pglite: 'PGlite (embedded)', postgres: 'PostgreSQL 15' } as const;

interface Row {
  n?: number;
  run: string;
  backend?: 'pglite' | 'postgres';
  ms?: number;
  listMs?: number;
  rssMb: number;
  detail?: EnqueueChildResult;
}
const rows: Row[] = [];
const root = mkdtempSync(join(tmpdir(), 'macao-ocr-bench-producer-'));
let s3proc: ChildProcess | undefined;
try {
  const build = join(root, 'js');
  transpileForChildren(build);
  const s3Dir = join(root, 's3');
  mkdirSync(s3Dir);
  const bucketOf = (n: number) => `bench-producer-${n}`;
  // s3rver fills its buckets, then prints where it serves.
  const s3 = await startServiceChild<{ endpoint: string; accessKeyId: string; secretAccessKey: string }>(
    ['--openssl-legacy-provider'],
    join(build, 'bench', 'producer-s3.child.js'),
    [s3Dir, args.populate!, ...sizes.map((n) => `${bucketOf(n)}=${n}`)],
  );
  s3proc = s3.proc;
  const conn = { endpoint: s3.endpoint, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };

  /** One producer child; `dataDir` (PGlite) is the caller's, schema and queue are dropped after. */
  const producer = async (mode: 'open' | 'enqueue', backend: string, n: number, dataDir: string) => {
    const schema = backend === 'postgres' ? `bench_${randomBytes(4).toString('hex')}` : 'bench';
    const queueName = `bench-producer-${randomBytes(6).toString('hex')}`;
    const a: EnqueueChildArgs = {
      ...{ mode, ...conn, bucket: bucketOf(n), dataDir, schema, redisUrl, queueName },
      ...(backend === 'postgres' ? { databaseUrl } : {}),
    };
    try {
      const r = await child<EnqueueChildResult>(build, 'producer-enqueue.child.js', [JSON.stringify(a)]);
      const c = r.counts;
      if (mode === 'enqueue') {
        const ok =
          c && c.found === n && c.cards === (n * 3) / 4 && c.paired === n / 4 && c.enqueued === c.cards;
        // A run keeps its default window of jobs in Redis; the rest wait as rows in the store.
        const window = Math.min(c?.enqueued ?? 0, defaultWindow(DEFAULTS.qps));
        if (!ok || r.jobsInQueue !== window || Object.keys(c.skipped).length > 0)
          throw new Error(
            `unexpected counts for ${n} objects: ${JSON.stringify(c)}, ${r.jobsInQueue} jobs queued`,
          );
      }
      return r;
    } finally {
      const redis = createRedis(redisUrl);
      await dropCardQueue(new Queue(queueName, { connection: redis, prefix: DEFAULT_QUEUE_PREFIX }), redis);
      redis.disconnect();
      if (backend === 'postgres') await dropSchema(databaseUrl, schema);
    }
  };
  const newDir = () => mkdtempSync(join(root, 'store-'));
  const drop = (dir: string) => rmSync(dir, { recursive: true, force: true });

  console.log('baselines: node alone; modules loaded and store opened, no object listed');
  const { stdout } = await promisify(execFile)(process.execPath, [
    '-e',
    "console.log(/VmHWM:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status','utf8'))[1]/1024)",
  ]);
  rows.push({ run: 'node alone, nothing loaded', rssMb: Number(stdout) });
  const dir0 = newDir();
  const first = await producer('open', 'pglite', nMin, dir0);
  rows.push({ run: `modules + open store, ${label.pglite}, new data dir (initdb)`, rssMb: first.maxRssMb });
  const again = await producer('open', 'pglite', nMin, dir0);
  rows.push({ run: `modules + open store, ${label.pglite}, existing data dir`, rssMb: again.maxRssMb });
  drop(dir0);
  if (backends.includes('postgres')) {
    const r = await producer('open', 'postgres', nMin, root);
    rows.push({ run: `modules + open store, ${label.postgres}`, rssMb: r.maxRssMb });
  }

  type Listing = { objects: number; pages: number; ms: number; maxRssMb: number };
  for (const n of sizes) {
    const list = async (): Promise<Listing> => {
      console.log(`${fmt(n)} objects: bare listing`);
      const r = await child<Listing>(build, 'producer-list.child.js', [
        ...Object.values(conn),
        bucketOf(n),
        'cards/',
      ]);
      if (r.objects !== n) throw new Error(`listed ${r.objects} objects in ${bucketOf(n)}, expected ${n}`);
      return r;
    };
    const bare1 = await list();
    const runs: Row[] = [];
    for (const backend of backends) {
      console.log(`${fmt(n)} objects: producer, ${label[backend]}`);
      const dir = newDir();
      // The data dir exists, empty, as after any earlier command; the first-ever open is the row below.
      if (backend === 'pglite') await producer('open', backend, n, dir);
      const r = await producer('enqueue', backend, n, dir);
      drop(dir);
      runs.push({
        n,
        backend,
        run: `listing + ledger + enqueue, ${label[backend]}`,
        ...r,
        rssMb: r.maxRssMb,
        detail: r,
      });
    }
    if (n === nMin) {
      console.log(`${fmt(n)} objects: producer, ${label.pglite}, new data dir`);
      const dir = newDir();
      const r = await producer('enqueue', 'pglite', n, dir);
      drop(dir);
      runs.push({
        n,
        run: `same, ${label.pglite}, new data dir (first run)`,
        ...r,
        rssMb: r.maxRssMb,
        detail: r,
      });
    }
    const bare2 = await list();
    // The faster of the two bare listings is the baseline: the stricter comparison.
    const bare = bare1.ms <= bare2.ms ? bare1 : bare2;
    const both = `${fmt(bare1.ms / 1000, 1)} s before, ${fmt(bare2.ms / 1000, 1)} s after`;
    rows.push({
      n,
      run: `bare ListObjectsV2 (faster of ${both})`,
      ms: bare.ms,
      listMs: bare.ms,
      rssMb: bare.maxRssMb,
    });
    rows.push(...runs);
  }
} finally {
  if (s3proc) await stopChild(s3proc);
  rmSync(root, { recursive: true, force: true });
}

const bareMs = (n: number) => rows.find((r) => r.n === n && r.run.startsWith('bare'))!.ms!;
const pct = (x: number) => `${x >= 0 ? '+' : ''}${fmt(100 * x, 1)}%`;
const how = args.populate === 'files' ? "written into s3rver's directory" : 'PUT to s3rver';
console.log(
  `\nproducer over s3rver (objects ${how}, listed over HTTP in pages of 1,000); N objects = 0.75 N cards\n`,
);
printTable([
  [
    'objects',
    'run',
    'wall (s)',
    'objects/s',
    'in ListObjectsV2 (s)',
    'own time (s)',
    'adds: wall',
    'adds: own time',
    'peak RSS (MB)',
  ],
  ...rows.map((r) => {
    const timed = r.n !== undefined && r.ms !== undefined && r.listMs !== undefined;
    const producer = timed && !r.run.startsWith('bare');
    const own = timed ? r.ms! - r.listMs! : 0;
    return [
      r.n === undefined ? '-' : fmt(r.n),
      r.run,
      timed ? fmt(r.ms! / 1000, 2) : '-',
      timed ? fmt(r.n! / (r.ms! / 1000)) : '-',
      timed ? fmt(r.listMs! / 1000, 2) : '-',
      producer ? fmt(own / 1000, 2) : '-',
      producer ? pct((r.ms! - bareMs(r.n!)) / bareMs(r.n!)) : '-',
      producer ? pct(own / bareMs(r.n!)) : '-',
      fmt(r.rssMb),
    ];
  }),
]);

// The bar is judged on wall time against the faster bare listing. Own time (wall minus time
// inside ListObjectsV2) is shown beside it: listing noise does not move it, but it misses work
// that stalls the event loop while a listing call is in flight (PGlite runs on the same thread).
console.log('\nbars (adds: wall time over the faster bare listing; own time in brackets)');
for (const backend of backends) {
  const at = (n: number) => rows.find((r) => r.n === n && r.backend === backend)!;
  const own = (at(nMax).ms! - at(nMax).listMs!) / bareMs(nMax);
  const wall = (at(nMax).ms! - bareMs(nMax)) / bareMs(nMax);
  const growth = (at(nMax).rssMb - at(nMin).rssMb) / at(nMin).rssMb;
  const verdict = (ok: boolean) => (ok ? 'MET' : 'MISSED');
  const live = (n: number) => fmt(at(n).detail!.liveHeapMb);
  console.log(
    `${label[backend]}\n` +
      `  time:   enqueue adds ${pct(wall)} wall (${pct(own)} own time) at ${fmt(nMax)} objects; bar <= 30%: ${verdict(wall <= OVERHEAD_BAR)}\n` +
      `  memory: peak RSS ${fmt(at(nMax).rssMb)} MB at ${fmt(nMax)} objects; bar < ${RSS_BAR_MB} MB: ${verdict(at(nMax).rssMb < RSS_BAR_MB)}\n` +
      `  growth: peak RSS ${fmt(at(nMin).rssMb)} MB at ${fmt(nMin)} -> ${fmt(at(nMax).rssMb)} MB at ${fmt(nMax)} (${pct(growth)}); ` +
      `bar within ${100 * GROWTH_TOLERANCE}%: ${verdict(growth <= GROWTH_TOLERANCE)} (live heap after a full GC: ${live(nMin)} -> ${live(nMax)} MB)`,
  );
}
console.log(
  "\nwhere the producer's own time went (ledger query runs beside the queue check; rest: pairing, job building, the queue check's excess)",
);
for (const r of rows.filter((x) => x.detail && x.n !== undefined)) {
  const d = r.detail!;
  const rest = d.ms - d.listMs - d.ledgerMs - d.recordMs - d.addBulkMs;
  const s = (ms: number) => `${fmt(ms / 1000, 2)} s`;
  console.log(
    `  ${fmt(r.n!)} objects, ${r.run}: ledger ${s(d.ledgerMs)}, row writes ${s(d.recordMs)}, addBulk ${s(d.addBulkMs)}, rest ${s(rest)}; store opened in ${s(d.openMs)}`,
  );
}
console.log('\nresident MB along each run, every 10 listing pages (10,000 objects), live heap in brackets');
for (const r of rows.filter((x) => x.detail && x.detail.trace.length > 1)) {
  const t = r.detail!.trace.map((p) => `${fmt(p.rssMb)} (${fmt(p.heapMb)})`).join(', ');
  console.log(`  ${fmt(r.n!)} objects, ${r.run}: ${t}`);
}
