// With a 1,000,000-card backlog enqueued, does Redis used_memory stay at or under 64 MB throughout?
//   npm run bench -- redis-window [--cards 1000000] [--baseline-cards 100000]
//                                 [--database-url postgres://...] [--redis-url redis://...]
// Bar: Redis used_memory at most 64 MiB in every sample (200 ms apart) of the enqueue of --cards
// cards, priority low, window defaultWindow(5) (src/producer/window.ts: the rest wait as pending
// rows). Baseline, same run: --baseline-cards cards with the window the whole backlog (every job
// in Redis, as before windows), its bytes per card, and their extrapolation to --cards.
//
// The listing is synthetic: an HTTP server in this process answers HeadBucket and ListObjectsV2
// (1,000 keys a page, `PREFIX0000001_front.jpg`..., fronts only) and the real S3 client lists it.
// Each enqueue is `enqueueRun` in a child process (this file transpiled to plain JavaScript, as
// the CLI runs from dist/, with `enqueue`'s heap settings), so its peak RSS (VmHWM) is the
// producer's alone; this process samples Redis `INFO memory` from a connection of its own. No
// worker runs. One fresh PostgreSQL database and fresh queues, removed at the end (also on SIGINT).
// The child imports only what the transpiled tree holds: test/ and the compiler load dynamically.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { keepHeapSmall } from '../src/cli/heap.js';
import { defaultWindow } from '../src/defaults.js';
import { type EnqueueCounts, enqueueRun } from '../src/producer/enqueueRun.js';
import { type CardJobData, createRedis, DEFAULT_QUEUE_PREFIX } from '../src/queue.js';
import { ResultsStore } from '../src/results/store.js';
import { createS3Client } from '../src/storage/s3.js';
import {
  cleanupOnce,
  connectRedis,
  describeCommit,
  describeMachine,
  loadAverage,
  SERVICE_OPTIONS,
} from './lib/setup.js';
import { fmt, peakRssMb, printTable } from './lib.js';

const BUCKET = 'bench-redis-window';
const MIB = 1024 * 1024;
const BAR_MB = 64;
const QPS = 5;

type ChildArgs = Record<'endpoint' | 'prefix' | 'databaseUrl' | 'redisUrl' | 'queueName', string> & {
  window: number;
};
type ChildResult = { runId: string; ms: number; counts: EnqueueCounts; peakRssMb: number };

/** The measured child: one `enqueue --priority low --window W` of s3://BUCKET/PREFIX. */
async function child(a: ChildArgs): Promise<void> {
  keepHeapSmall(); // as `macao-ocr enqueue` does (src/cli/enqueueCommand.ts)
  const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' }; // any: the server checks none
  const s3 = createS3Client({ endpoint: a.endpoint, forcePathStyle: true, credentials });
  const store = await ResultsStore.open({ databaseUrl: a.databaseUrl, dataDir: tmpdir() });
  const redis = createRedis(a.redisUrl);
  const queue = new Queue<CardJobData>(a.queueName, { connection: redis, prefix: DEFAULT_QUEUE_PREFIX });
  try {
    await queue.waitUntilReady();
    const t0 = performance.now();
    const r = await enqueueRun({
      sources: [`s3://${BUCKET}/${a.prefix}`],
      ...{ s3, store, queue, redis, priority: 'low', window: a.window },
    });
    const ms = performance.now() - t0;
    const res: ChildResult = { runId: r.runId!, ms, counts: r.counts, peakRssMb: peakRssMb() };
    console.log(JSON.stringify(res));
  } finally {
    await queue.close();
    redis.disconnect();
    await store.close();
    s3.destroy();
  }
}

/**
 * A stand-in for S3 serving `sizes` (prefix -> keys) in BUCKET: HeadBucket, and ListObjectsV2 in
 * key order, generated on the fly. The continuation token is the index of the next key.
 */
async function listingServer(sizes: Map<string, number>): Promise<{ endpoint: string; close(): void }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const bucket = url.pathname.split('/')[1];
    if (bucket !== BUCKET) return void res.writeHead(404).end('<Error><Code>NoSuchBucket</Code></Error>');
    if (req.method === 'HEAD') return void res.writeHead(200).end();
    const q = url.searchParams;
    const prefix = q.get('prefix') ?? '';
    const total = sizes.get(prefix) ?? 0;
    const maxKeys = Math.min(1000, Number(q.get('max-keys') ?? 1000));
    const token = q.get('continuation-token');
    const start = token === null ? 0 : Number(token);
    const end = Math.min(total, start + maxKeys);
    const xml = [
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
      `<Name>${bucket}</Name><Prefix>${prefix}</Prefix><KeyCount>${end - start}</KeyCount>`,
      `<MaxKeys>${maxKeys}</MaxKeys><IsTruncated>${end < total}</IsTruncated>`,
      token === null ? '' : `<ContinuationToken>${token}</ContinuationToken>`,
      end < total ? `<NextContinuationToken>${end}</NextContinuationToken>` : '',
    ];
    for (let i = start; i < end; i++) {
      const key = `${prefix}${String(i + 1).padStart(7, '0')}_front.jpg`;
      const etag = `&quot;${i.toString(16).padStart(32, '0')}&quot;`;
      xml.push(
        `<Contents><Key>${key}</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>${etag}</ETag>`,
        `<Size>${300_000 + (i % 997)}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
      );
    }
    xml.push('</ListBucketResult>');
    res.writeHead(200, { 'content-type': 'application/xml' }).end(xml.join(''));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}`, close: () => server.close() };
}

async function usedMemory(redis: Redis): Promise<number> {
  return Number(/^used_memory:(\d+)/m.exec(await redis.info('memory'))?.[1]);
}

/** Samples used_memory (and the queue's jobs) every `everyMs` until stopped: peaks, last value, samples. */
function sampleRedis(redis: Redis, queue: Queue, everyMs = 200) {
  const s = { peak: 0, last: 0, samples: 0, maxJobs: 0 };
  const tick = async (): Promise<void> => {
    const [v, jobs] = await Promise.all([usedMemory(redis), queue.count()]);
    s.maxJobs = Math.max(s.maxJobs, jobs);
    s.peak = Math.max(s.peak, v);
    s.last = v;
    s.samples++;
  };
  const safeTick = (): void => void tick().catch(() => undefined);
  const timer = setInterval(safeTick, everyMs);
  safeTick();
  return {
    async stop(): Promise<typeof s> {
      clearInterval(timer);
      await tick();
      return s;
    },
  };
}

/** Bytes the queue's keys take in Redis (MEMORY USAGE of each, SAMPLES 0: every field counted). */
async function queueBytes(redis: Redis, queue: Queue): Promise<number> {
  let total = 0;
  for await (const keys of redis.scanStream({ match: `${queue.qualifiedName}:*`, count: 1000 })) {
    const p = redis.pipeline();
    for (const k of keys as string[]) p.memory('USAGE', k, 'SAMPLES', 0);
    for (const [err, n] of (await p.exec()) ?? []) if (!err) total += Number(n ?? 0);
  }
  return total;
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      cards: { type: 'string', default: '1000000' },
      'baseline-cards': { type: 'string', default: '100000' },
      ...SERVICE_OPTIONS,
    },
  });
  const N = Number(args.cards);
  const B = Number(args['baseline-cards']);
  if (![N, B].every((n) => Number.isInteger(n) && n > 0 && n <= 9_999_999))
    throw new Error(`--cards and --baseline-cards must be whole numbers from 1 to 9,999,999`);
  const redisUrl = args['redis-url']!;
  const { createDatabase, openTestStore } = await import('../test/support/store.js');
  const { dropCardQueue } = await import('../test/support/cardQueue.js');
  const { transpileForChildren } = await import('./lib/transpile.js');

  const redis = await connectRedis(redisUrl);
  const sampler = await connectRedis(redisUrl); // its own connection: never behind the queue's
  const db = await createDatabase(args['database-url']!, 'bench_redis_window');
  const root = mkdtempSync(join(tmpdir(), 'macao-ocr-bench-redis-window-'));
  const s3 = await listingServer(new Map(Object.entries({ 'baseline/': B, 'backlog/': N })));
  const queues = new Set<Queue>();
  let closeStore: (() => Promise<void>) | undefined;
  const enqueuing = new AbortController(); // SIGINT: the child ends first, then its queue and database go
  const cleanup = cleanupOnce(async () => {
    enqueuing.abort();
    for (const q of queues) await dropCardQueue(q, redis).catch(() => undefined);
    await closeStore?.().catch(() => undefined);
    await db.drop().catch(() => undefined);
    redis.disconnect();
    sampler.disconnect();
    s3.close();
    rmSync(root, { recursive: true, force: true });
  });
  try {
    transpileForChildren(join(root, 'js'));
    const opened = await openTestStore('postgres', db.url, 'public'); // migrated here, as `migrate` does
    closeStore = opened.cleanup;
    const [machine, commit, loadBefore] = [
      describeMachine(process.versions.node),
      describeCommit(),
      loadAverage(),
    ];
    const started = new Date().toISOString();

    const measure = async (prefix: string, cards: number, window: number) => {
      const queue = new Queue<CardJobData>(`bench-redis-window-${randomBytes(5).toString('hex')}`, {
        connection: redis,
        prefix: DEFAULT_QUEUE_PREFIX,
      });
      queues.add(queue);
      console.log(`enqueue of ${fmt(cards)} cards, window ${fmt(window)}, queue ${queue.name}`);
      const before = await usedMemory(sampler);
      const sampling = sampleRedis(sampler, queue);
      const a: ChildArgs = {
        endpoint: s3.endpoint,
        prefix,
        databaseUrl: db.url,
        redisUrl,
        window,
        queueName: queue.name,
      };
      const script = join(root, 'js', 'bench', 'redis-window.js');
      const { stdout } = await promisify(execFile)(process.execPath, [script, 'child', JSON.stringify(a)], {
        signal: enqueuing.signal,
      });
      const r = JSON.parse(stdout.trim().split('\n').pop()!) as ChildResult;
      const mem = await sampling.stop();
      const jobs = await queue.count();
      const [rows] = (
        await opened.store.pool.query<{ queued: number; waiting: number }>(
          `SELECT count(*) FILTER (WHERE queued_at IS NOT NULL)::int AS queued,
                  count(*) FILTER (WHERE queued_at IS NULL)::int AS waiting
             FROM cards WHERE run_id = $1 AND pending`,
          [r.runId],
        )
      ).rows;
      const ownBytes = await queueBytes(sampler, queue);
      await dropCardQueue(queue, redis);
      queues.delete(queue);
      const c = r.counts;
      const inQueue = Math.min(window, cards);
      const ok =
        c.found === cards && c.cards === cards && c.enqueued === cards && Object.keys(c.skipped).length === 0;
      if (
        !ok ||
        jobs !== inQueue ||
        mem.maxJobs > inQueue ||
        rows?.queued !== inQueue ||
        rows.waiting !== cards - inQueue
      )
        throw new Error(
          `unexpected: counts ${JSON.stringify(c)}, ${jobs} jobs in Redis, rows ${JSON.stringify(rows)}`,
        );
      console.log(
        `  ${fmt(r.ms / 1000, 1)} s, ${mem.samples} samples; ${jobs} jobs in Redis (at most ${mem.maxJobs}), ${rows.waiting} rows waiting`,
      );
      return { cards, window, before, ...mem, ownBytes, ...r };
    };

    const base = await measure('baseline/', B, B);
    const run = await measure('backlog/', N, defaultWindow(QPS));
    const perCard = (base.peak - base.before) / B;
    const mb = (bytes: number, digits = 1): string => fmt(bytes / MIB, digits);
    const row = (what: string, m: typeof base): string[] => [
      what,
      fmt(m.cards),
      fmt(m.window),
      mb(m.before),
      mb(m.peak),
      mb(m.last),
      mb(m.ownBytes),
      mb(((m.peak - m.before) / m.cards) * 100_000, 2),
      fmt(m.ms / 1000, 1),
      fmt(m.cards / (m.ms / 1000)),
      fmt(m.peakRssMb, 1),
    ];
    const extrapolated = base.before + perCard * N;
    const ext = `baseline extrapolated to ${fmt(N)} cards`;
    console.log(
      `\n\`npm run bench -- redis-window${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}\`, ${started.slice(0, 16).replace('T', ' ')} UTC, ${machine}, commit \`${commit}\`, load average ${loadBefore} before, ${loadAverage()} after; Redis used_memory sampled every 200 ms; MB = MiB\n`,
    );
    const head = "run|cards|window|Redis before MB|Redis peak MB|Redis at end MB|queue's keys at end MB";
    printTable([
      `${head}|MB per 100k cards|enqueue s|cards/s|producer peak RSS MB`.split('|'),
      row('baseline: window = whole backlog (every job in Redis)', base),
      [ext, fmt(N), fmt(N), mb(base.before), mb(extrapolated), '-', '-', mb(perCard * 1e5, 2), '-', '-', '-'],
      row(`backlog, priority low, default window at OCR_QPS ${QPS}`, run),
    ]);
    console.log(
      `\nbaseline: ${fmt(perCard)} bytes of used_memory per queued card; the window's ${fmt(run.window)} jobs at that rate: ${mb(run.window * perCard)} MB, measured ${mb(run.peak - run.before)} MB over the before; MEMORY USAGE of the queue's keys: ${fmt(base.ownBytes / B)} bytes per job`,
    );
    console.log(
      `Redis peak <= ${BAR_MB} MB: ${run.peak <= BAR_MB * MIB ? 'met' : 'not met'} (${mb(run.peak)} MB over ${fmt(N)} cards, window ${fmt(run.window)}; every job in Redis: ~${mb(extrapolated, 0)} MB)`,
    );
  } finally {
    await cleanup();
  }
}

if (process.argv[2] === 'child') await child(JSON.parse(process.argv[3]!) as ChildArgs);
else await main();
