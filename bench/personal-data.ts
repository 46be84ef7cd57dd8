// How fast do `purge` and `erase` delete personal data on PostgreSQL at scale, and how much memory
// does the process doing it hold?
//   npm run bench -- personal-data [--cards 100000] [--erasures 1000]
//                                  [--database-url postgres://...] [--redis-url redis://...]
// Baseline: how fast the store writes the same N recognized cards (recordSeen, then
// recordOutcomes), in the same run. Then, on a fresh database holding them, purgeCards over all N
// (`purge --older-than 0d`: keyset pages of 1,000, each one UPDATE to tombstones); on a second
// fresh database of N cards, eraseCards of --erasures different people one at a time by ID number
// (`erase --id-number`: the expression index on the ID's digits, BullMQ's remove per version, one
// tombstone). No card has a portrait and scans are kept, so neither command sends an object
// request: the S3 client points at a port that refuses connections and counts what it is asked to
// send. Every part runs in a child process of its own (bench/personal-data.child.ts, as plain
// JavaScript transpiled from src/ and bench/, as the CLI runs from dist/), so each peak RSS is
// that part's VmHWM. The databases and the queue are fresh, and removed at the end.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { type CardJobData, DEFAULT_QUEUE_PREFIX } from '../src/queue.js';
import { dropCardQueue } from '../test/support/cardQueue.js';
import { createDatabase, pgQuery } from '../test/support/store.js';
import { idNumber } from './lib/cards.js';
import {
  cleanupOnce,
  connectRedis,
  describeCommit,
  describeMachine,
  loadAverage,
  SERVICE_OPTIONS,
} from './lib/setup.js';
import { transpileForChildren } from './lib/transpile.js';
import { fmt, printTable, runNodeChild } from './lib.js';
import type { PersonalDataChildArgs, PersonalDataChildResult } from './personal-data.child.js';

const { values: args } = parseArgs({
  options: {
    cards: { type: 'string', default: '100000' },
    erasures: { type: 'string', default: '1000' },
    ...SERVICE_OPTIONS,
  },
});
const N = Number(args.cards);
if (!Number.isInteger(N) || N <= 0 || N > 999_999)
  throw new Error(`--cards must be a whole number from 1 to 999,999, got \`${args.cards}\``);
const E = Math.min(Number(args.erasures), N);
if (!Number.isInteger(E) || E <= 0)
  throw new Error(`--erasures must be a positive whole number, got \`${args.erasures}\``);
const serverUrl = args['database-url']!;
const redisUrl = args['redis-url']!;
/** A port nothing listens on: any object request would fail, and the part with it. */
const REFUSING_S3 = 'http://127.0.0.1:9';

const commit = describeCommit();

/** One number from a query that selects one `n`. */
async function count(url: string, text: string): Promise<number> {
  const [row] = await pgQuery<{ n: number | string }>(url, text);
  return Number(row?.n);
}

/**
 * Whether autovacuum has analyzed / vacuumed `cards` yet: the plans of the purge's keyset page
 * and of the erasure's lookup depend on the statistics, which a fresh table may not have.
 */
async function tableState(url: string): Promise<string> {
  const [s] = await pgQuery<{ live: string; dead: string; analyzed: boolean; vacuumed: boolean }>(
    url,
    `SELECT n_live_tup AS live, n_dead_tup AS dead,
            (last_autoanalyze IS NOT NULL OR last_analyze IS NOT NULL) AS analyzed,
            (last_autovacuum IS NOT NULL OR last_vacuum IS NOT NULL) AS vacuumed
       FROM pg_stat_user_tables WHERE relname = 'cards'`,
  );
  if (!s) return 'no statistics';
  return `${fmt(Number(s.live))} live / ${fmt(Number(s.dead))} dead tuples, ${s.analyzed ? 'analyzed' : 'not analyzed yet'}, ${s.vacuumed ? 'vacuumed' : 'not vacuumed yet'}`;
}

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? Number.NaN;

const root = mkdtempSync(join(tmpdir(), 'macao-ocr-bench-personal-data-'));
const redis = await connectRedis(redisUrl);
// The card queue the erasures look in: fresh and empty, so each `remove` is one round trip that
// finds nothing, as for a card whose job was removed when it completed.
const queue = new Queue<CardJobData>(`bench-personal-data-${randomBytes(5).toString('hex')}`, {
  connection: redis,
  prefix: DEFAULT_QUEUE_PREFIX,
});
const databases: Awaited<ReturnType<typeof createDatabase>>[] = [];
const cleanup = cleanupOnce(async () => {
  for (const db of databases) await db.drop().catch(() => undefined);
  await dropCardQueue(queue, redis).catch(() => undefined);
  redis.disconnect();
  rmSync(root, { recursive: true, force: true });
});

const checks: { what: string; ok: boolean }[] = [];
const check = (what: string, ok: boolean): void => {
  checks.push({ what, ok });
};

try {
  const build = join(root, 'js');
  transpileForChildren(build);
  const child = (a: PersonalDataChildArgs): Promise<PersonalDataChildResult> =>
    runNodeChild<PersonalDataChildResult>(join(build, 'bench', 'personal-data.child.js'), [
      JSON.stringify(a),
    ]);
  const [server] = await pgQuery<{ server_version: string }>(serverUrl, 'SHOW server_version');
  const loadBefore = loadAverage();
  const t0 = performance.now();

  const rows: (string | number)[][] = [
    ['part', 'rows', 'wall s', 'rows/s', 'peak RSS MB', 'peak RSS before the work MB'],
  ];
  const row = (part: string, r: PersonalDataChildResult): void => {
    rows.push([
      part,
      fmt(r.rows),
      fmt(r.ms / 1000, 2),
      fmt(r.rows / (r.ms / 1000)),
      fmt(r.peakRssMb, 1),
      fmt(r.idleRssMb, 1),
    ]);
  };
  const written = async (url: string, part: string): Promise<PersonalDataChildResult> => {
    const w = await child({ mode: 'write', databaseUrl: url, cards: N });
    row(part, w);
    const n = await count(
      url,
      "SELECT count(*) AS n FROM cards WHERE outcome = 'recognized' AND id_number IS NOT NULL AND NOT pending",
    );
    check(`${part}: ${fmt(N)} recognized cards with an ID number (${fmt(n)})`, n === N);
    return w;
  };

  // 1 and 2: write N cards, purge them all.
  const purgeDb = await createDatabase(serverUrl, 'bench_pd');
  databases.push(purgeDb);
  const w1 = await written(purgeDb.url, 'write (baseline: recordSeen + recordOutcomes)');
  const beforePurge = await tableState(purgeDb.url);
  const p = await child({ mode: 'purge', databaseUrl: purgeDb.url, s3Endpoint: REFUSING_S3 });
  row('purgeCards({ olderThanDays: 0 })', p);
  const left = await count(purgeDb.url, 'SELECT count(*) AS n FROM cards WHERE id_number IS NOT NULL');
  const purged = await count(purgeDb.url, 'SELECT count(*) AS n FROM cards WHERE purged_at IS NOT NULL');
  const retention = await count(
    purgeDb.url,
    "SELECT count(*) AS n FROM cards WHERE purge_reason = 'retention'",
  );
  check(
    `purge: counts say ${fmt(N)} cards, 0 portraits, 0 scans, 0 kept`,
    p.purge?.cards === N && p.purge.portraits === 0 && p.purge.scans === 0 && p.purge.kept === 0,
  );
  check(`purge: no row with an ID number left (${fmt(left)})`, left === 0);
  check(
    `purge: ${fmt(N)} rows with purged_at (${fmt(purged)}), all for retention (${fmt(retention)})`,
    purged === N && retention === N,
  );
  check(`purge: no request sent to the object store (${p.s3Sends})`, p.s3Sends === 0);
  await purgeDb.drop();
  databases.splice(databases.indexOf(purgeDb), 1);

  // 3: N cards on a second fresh database, then E people erased one at a time.
  const eraseDb = await createDatabase(serverUrl, 'bench_pd');
  databases.push(eraseDb);
  await written(eraseDb.url, 'write (second database, for the erasures)');
  const beforeErase = await tableState(eraseDb.url);
  // Spread over the whole range of ID numbers, each a different person.
  const ids = Array.from({ length: E }, (_, k) => idNumber(Math.floor(((k + 0.5) * N) / E)));
  const e = await child({
    mode: 'erase',
    databaseUrl: eraseDb.url,
    s3Endpoint: REFUSING_S3,
    redisUrl,
    queueName: queue.name,
    idNumbers: ids,
  });
  row(`eraseCards({ target: { idNumber } }) × ${fmt(E)}, one at a time`, e);
  const erased = await count(eraseDb.url, "SELECT count(*) AS n FROM cards WHERE purge_reason = 'erasure'");
  const kept = await count(eraseDb.url, 'SELECT count(*) AS n FROM cards WHERE id_number IS NOT NULL');
  const sum = e.erase;
  const jobsLeft = Object.values(await queue.getJobCounts()).reduce((a, b) => a + b, 0);
  check(
    `erase: each of the ${fmt(E)} erasures found and erased exactly one card, with no object (${sum ? `${fmt(sum.erasures)} erasures, ${fmt(sum.notOne)} not one card; summed: found ${fmt(sum.found)}, erased ${fmt(sum.cards)}, portraits ${fmt(sum.portraits)}, scans ${fmt(sum.scans)}, kept ${fmt(sum.kept)}` : 'no counts'})`,
    sum?.erasures === E &&
      sum.notOne === 0 &&
      sum.found === E &&
      sum.cards === E &&
      sum.portraits === 0 &&
      sum.scans === 0 &&
      sum.kept === 0,
  );
  // The queue never held a job; eraseCards's `jobs` adds up what Queue.remove answers, and
  // BullMQ answers 1 for a job id that does not exist (removeJob-2.lua returns 1 unless locked).
  check(
    `erase: the queue holds no job (${fmt(jobsLeft)}); eraseCards counted ${fmt(sum?.jobs ?? 0)} jobs removed`,
    jobsLeft === 0,
  );
  check(`erase: ${fmt(E)} rows with purge_reason 'erasure' (${fmt(erased)})`, erased === E);
  check(`erase: the other ${fmt(N - E)} rows keep their ID number (${fmt(kept)})`, kept === N - E);
  check(`erase: no request sent to the object store (${e.s3Sends})`, e.s3Sends === 0);
  const lat = [...(e.erase?.latenciesMs ?? [])].sort((x, y) => x - y);

  console.log(
    `\npersonal data on PostgreSQL ${server?.server_version ?? '?'}: ${fmt(N)} recognized cards, ${fmt(E)} erasures`,
  );
  console.log(
    `machine: ${describeMachine(process.version)}; load average ${loadBefore} before, ${loadAverage()} after; commit ${commit}\n`,
  );
  printTable(rows);
  console.log(
    `\nerase latency, one person at a time: median ${fmt(percentile(lat, 0.5), 2)} ms, p95 ${fmt(percentile(lat, 0.95), 2)} ms, max ${fmt(lat.at(-1) ?? Number.NaN, 2)} ms; ${fmt(E / (e.ms / 1000), 1)} erasures/s`,
  );
  const split = w1.write;
  if (split)
    console.log(
      `write split (first database): recordSeen ${fmt(N / (split.seenMs / 1000))} rows/s, recordOutcomes ${fmt(N / (split.outcomesMs / 1000))} rows/s`,
    );
  const rate = (r: PersonalDataChildResult): number => r.rows / (r.ms / 1000);
  console.log(
    `purge: ${fmt(p.purge?.pages ?? 0)} pages of up to 1,000 cards, ${fmt(rate(p) / rate(w1), 2)}× the rate the same cards were written at`,
  );
  console.log(`cards table before the purge: ${beforePurge}; before the erasures: ${beforeErase}`);
  console.log(
    '  peak RSS = VmHWM of the child doing the part (plain JavaScript, V8 defaults as in `purge` and `erase`); before the work = modules loaded and what the command opens (store, S3 client; Redis and the queue for erase)',
  );
  console.log('checks:');
  for (const c of checks) console.log(`  ${c.ok ? 'ok' : 'FAILED'}: ${c.what}`);
  console.log(`\ntotal ${fmt((performance.now() - t0) / 1000)} s`);
  if (checks.some((c) => !c.ok)) process.exitCode = 1;
} finally {
  await cleanup();
}
