// Child of bench/personal-data.ts: one measured part in a process of its own, so that its peak
// RSS (VmHWM) is that part's alone. It runs as plain JavaScript transpiled from src/ and bench/,
// as the CLI runs from dist/, with V8's default heap settings (the `purge` and `erase` commands
// keep them). Modes:
// - `write`: a run and N recognized cards, as the producer (recordSeen) and then the workers
//   (recordOutcomes) write them, in chunks;
// - `purge`: purgeCards over every finished card, as `macao-ocr purge --older-than 0d`;
// - `erase`: eraseCards one person at a time by ID number, as `macao-ocr erase --id-number`.
// Each opens what its command opens (the store; the object store; Redis and the queue for erase),
// reads VmHWM once before the work (modules loaded, connections open) and once after, and prints
// one JSON line, a PersonalDataChildResult.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { type EraseCounts, eraseCards } from '../src/personalData/erase.js';
import { type PersonalDataCounts, purgeCards } from '../src/personalData/purge.js';
import { type CardJobData, createRedis, DEFAULT_QUEUE_PREFIX } from '../src/queue.js';
import { versionId } from '../src/results/cardVersion.js';
import { ResultsStore } from '../src/results/store.js';
import type { CardResult, SeenCard } from '../src/results/types.js';
import { createS3Client } from '../src/storage/s3.js';
import { cardFields, idNumber } from './lib/cards.js';
import { peakRssMb } from './lib.js';

/** What the parent passes, as one JSON argument. */
export type PersonalDataChildArgs = { databaseUrl: string } & (
  | { mode: 'write'; cards: number }
  | { mode: 'purge'; s3Endpoint: string }
  | { mode: 'erase'; s3Endpoint: string; redisUrl: string; queueName: string; idNumbers: string[] }
);

export interface PersonalDataChildResult {
  /** Rows the part wrote, purged or erased. */
  rows: number;
  /** Wall time of the part's work alone (not the opening), ms. */
  ms: number;
  /** Peak RSS before the work (modules loaded, connections open), and at the end. */
  idleRssMb: number;
  peakRssMb: number;
  /** Requests the S3 client was asked to send: 0 when no card has a portrait and scans are kept. */
  s3Sends: number;
  write?: { runId: string; seenMs: number; outcomesMs: number };
  purge?: PersonalDataCounts & { pages: number };
  /** Summed over the erasures; `found` is summed too (1 a person when each has one card). */
  erase?: EraseCounts & { erasures: number; notOne: number; latenciesMs: number[] };
}

/** Cards built and written at a time: bounds what the writer holds, not what the store batches. */
const WRITE_CHUNK = 5000;

const a = JSON.parse(process.argv[2] ?? '{}') as PersonalDataChildArgs;
// dataDir is the embedded back end's, unused with a database URL. `write` fills a fresh database,
// so it applies the migrations; `purge` and `erase` only check the version, as their commands do.
const store = await ResultsStore.open({
  databaseUrl: a.databaseUrl,
  dataDir: join(tmpdir(), 'unused'),
  migrate: a.mode === 'write',
});
const out: PersonalDataChildResult = { rows: 0, ms: 0, idleRssMb: 0, peakRssMb: 0, s3Sends: 0 };

function s3Client(endpoint: string) {
  const s3 = createS3Client({
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  // Counts what reaches the client at all, before any retry or connection attempt.
  s3.middlewareStack.add(
    (next) => async (args) => {
      out.s3Sends += 1;
      return next(args);
    },
    { step: 'initialize', name: 'benchCountSends' },
  );
  return s3;
}

/** Card `i` of the run: recognized, ID number `1NNNNNN(D)` of its own, no portrait. */
function card(i: number, runId: string): { seen: SeenCard; result: CardResult } {
  const v = {
    bucket: 'bench-personal-data',
    frontKey: `cards/${String(i).padStart(7, '0')}_front.jpg`,
    frontEtag: `e${i}`,
  };
  const id = versionId(v);
  const fields = cardFields(idNumber(i));
  const requestId = `req-${i}`;
  return {
    seen: { ...v, versionId: id, sizeBytes: 480_000 },
    result: {
      ...v,
      versionId: id,
      runId,
      outcome: 'recognized',
      attempts: 1,
      latencyMs: 250,
      requestId,
      fields,
      warnings: i % 7 === 0 ? [{ code: -9102, name: 'photocopy' }] : [],
      // Some cards carry a check message, which the tombstone reduces to its code.
      checks:
        i % 5 === 0
          ? [{ code: 'height-implausible', message: 'Height is not a plausible height in metres' }]
          : [],
      rawResponse: { ...fields, Angle: 0.4, WarnCardInfos: [], RequestId: requestId },
    },
  };
}

async function write(n: number): Promise<void> {
  const runId = (await store.createRun({ sources: ['s3://bench-personal-data/cards/'] })).id;
  let seenMs = 0;
  let outcomesMs = 0;
  for (let from = 0; from < n; from += WRITE_CHUNK) {
    const chunk = Array.from({ length: Math.min(WRITE_CHUNK, n - from) }, (_, k) => card(from + k, runId));
    let t = performance.now();
    await store.recordSeen(
      runId,
      chunk.map((c) => c.seen),
    );
    seenMs += performance.now() - t;
    t = performance.now();
    await store.recordOutcomes(chunk.map((c) => c.result));
    outcomesMs += performance.now() - t;
  }
  out.rows = n;
  out.ms = seenMs + outcomesMs;
  out.write = { runId, seenMs, outcomesMs };
}

if (a.mode === 'write') {
  out.idleRssMb = peakRssMb();
  await write(a.cards);
} else if (a.mode === 'purge') {
  const s3 = s3Client(a.s3Endpoint);
  let pages = 0;
  out.idleRssMb = peakRssMb();
  const t = performance.now();
  const counts = await purgeCards({
    store,
    s3,
    olderThanDays: 0,
    onProgress: () => {
      pages += 1;
    },
  });
  out.ms = performance.now() - t;
  out.rows = counts.cards;
  out.purge = { ...counts, pages };
  s3.destroy();
} else {
  const s3 = s3Client(a.s3Endpoint);
  // As the CLI opens Redis and the card queue (src/services.ts).
  const redis = createRedis(a.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
  await redis.connect();
  const queue = new Queue<CardJobData>(a.queueName, { connection: redis, prefix: DEFAULT_QUEUE_PREFIX });
  await queue.waitUntilReady();
  const sum: NonNullable<PersonalDataChildResult['erase']> = {
    found: 0,
    cards: 0,
    portraits: 0,
    scans: 0,
    kept: 0,
    jobs: 0,
    erasures: 0,
    notOne: 0,
    latenciesMs: [],
  };
  out.idleRssMb = peakRssMb();
  const t = performance.now();
  for (const idNumber of a.idNumbers) {
    const t1 = performance.now();
    const c = await eraseCards({ store, s3, queue, target: { idNumber } });
    sum.latenciesMs.push(performance.now() - t1);
    sum.erasures += 1;
    if (c.found !== 1 || c.cards !== 1) sum.notOne += 1;
    for (const k of ['found', 'cards', 'portraits', 'scans', 'kept', 'jobs'] as const) sum[k] += c[k];
  }
  out.ms = performance.now() - t;
  out.rows = sum.cards;
  out.erase = sum;
  await queue.close();
  redis.disconnect();
  s3.destroy();
}
await store.close();
out.peakRssMb = peakRssMb();
console.log(JSON.stringify(out));
