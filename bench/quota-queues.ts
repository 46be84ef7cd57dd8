// Do two queues on one account stay within its quota together?
//   npm run bench -- quota-queues [--cards 600] [--runs shared,per-queue,one-queue] [--timeout-s 600]
//                                 [--dump-calls FILE]
//                                 [--database-url postgres://...] [--redis-url redis://...]
// Setup: two card queues on one Redis, `--cards` copies of 40 specimens each (about 60 s of work
// for both at Q = 20/s), one `macao-ocr work --qps 20` process per queue (the CLI itself, url mode,
// automatic concurrency), one SecretId, the emulator limiting that SecretId to Q = 20 calls/s,
// latency 200-600 ms, counting arrivals per second. Both workers start first; both runs are then
// queued at once (as `enqueue` makes them), and the run ends when neither has a card pending.
// Both runs are recorded in one results store (one DATABASE_URL), whose run keepers both workers run.
// Measured: the emulator's most calls within any 1 s (arrivals, whatever their answer), throttled
// calls (RequestLimitExceeded), admitted calls per second together (the ledger's send times).
// Run: both workers with one OCR_QUOTA_KEY (the account's). Baseline, same run: each worker with
// an OCR_QUOTA_KEY of its own, as a per-queue rate was before. Reference, same run: both workers
// on one queue holding both runs (what one rate always covered), to tell what sharing the rate
// across queues adds from what the machine's scheduling does to any shared rate.
// Bars: at most Q calls in any second at the emulator; at most 0.1% of calls throttled.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { serviceEnv } from '../test/support/pipeline.js';
import type { WorkerProcess } from '../test/support/processes.js';
import { dumpCalls, pct, peakSends, type Rates, rates, summariseLogs, throttledCode } from './lib/quota.js';
import { describeCommit, describeMachine, loadAverage, SERVICE_OPTIONS } from './lib/setup.js';
import {
  type BenchObject,
  dropQueue,
  endpoints,
  isMain,
  newQueue,
  queueCopies,
  runWorkerBench,
  sleep,
  verdict,
  type WorkerBench,
} from './lib/workerBench.js';
import {
  drained,
  dropQuota,
  epochOf,
  ledgerCalls,
  pendingOf,
  specimens,
  startWorkers,
  stopWorkers,
} from './lib/workRuns.js';
import { fmt, printTable } from './lib.js';

const Q = 20;
const LATENCY_MS = [200, 600] as const;
const DISTINCT = 40;
const BARS = { peak: Q, throttled: 0.001 };

export interface QuotaQueuesOptions {
  cards: number;
  timeoutS: number;
  /** The scenarios, in order (repeatable): shared, per-queue, one-queue. */
  runs: Mode[];
  /** Appends every call ({run, ms since the runs were queued, code}) as JSON lines to this file. */
  dumpCalls?: string | undefined;
}

interface Row {
  mode: Mode;
  label: string;
  keys: string;
  done: number;
  wallMs: number;
  calls: number;
  throttled: number;
  peakArrivals: number;
  peakOk: number;
  peakSends: number;
  rates: Rates;
  /** Cards of these runs recognized by more than one successful (billed) call. */
  billedTwice: number;
  /** Admitted calls per second of each queue's run over the whole run. */
  perQueue: number[];
  note: string;
}

/** Two queues with one quota key, two queues with a key each, or one queue (and key) for both. */
type Mode = 'shared' | 'per-queue' | 'one-queue';

const LABELS: Record<Mode, [label: string, keys: string]> = {
  shared: [`2 queues, one OCR_QUOTA_KEY (the account's), \`work --qps ${Q}\` each`, '1 (shared)'],
  'per-queue': [`baseline: 2 queues, an OCR_QUOTA_KEY each, \`work --qps ${Q}\` each`, '2 (one per queue)'],
  'one-queue': [`reference: 1 queue holding both runs, 2 × \`work --qps ${Q}\``, '1'],
};

async function scenario(
  ctx: WorkerBench,
  objects: BenchObject[],
  mode: Mode,
  o: QuotaQueuesOptions,
): Promise<Row> {
  const queues = mode === 'one-queue' ? [newQueue(ctx)] : [newQueue(ctx), newQueue(ctx)];
  const queueOf = (i: number) => queues[i % queues.length]!;
  const account = `bench-account-${randomBytes(5).toString('hex')}`;
  const keys = mode === 'per-queue' ? queues.map((q) => q.name) : [account, account];
  const envs = keys.map((k, i) => ({ ...serviceEnv(endpoints(ctx, queueOf(i).name)), OCR_QUOTA_KEY: k }));
  let procs: WorkerProcess[] = [];
  try {
    await ctx.emulator.reset();
    procs = await startWorkers(envs, ['--qps', String(Q), '--image-mode', 'url']);
    const t0 = Date.now();
    const runs = await Promise.all([0, 1].map((i) => queueCopies(ctx, queueOf(i), objects, o.cards)));
    const done = await drained(ctx, runs, o.timeoutS * 1000);
    const stats = await ctx.emulator.stats();
    const last = await epochOf(
      ctx,
      'SELECT (extract(epoch FROM max(finished_at)) * 1000)::float8 AS t FROM cards WHERE run_id = ANY ($1::text[]) AND NOT pending',
      [runs],
    );
    const wallMs = (done && last !== undefined ? last : Date.now()) - t0;
    const calls = await ledgerCalls(ctx, runs);
    for (const [i, r] of runs.entries())
      dumpCalls(
        o.dumpCalls,
        `${mode}:${i}`,
        t0,
        calls.filter((c) => c.run === r),
      );
    const admitted = calls.filter((c) => !throttledCode(c.code));
    const { rows: twice } = await ctx.store.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (SELECT version_id FROM api_calls WHERE run_id = ANY ($1::text[])
         AND code = 'OK' GROUP BY version_id HAVING count(*) > 1) x`,
      [runs],
    );
    const first = calls[0]?.t ?? t0;
    return {
      mode,
      label: LABELS[mode][0],
      keys: LABELS[mode][1],
      done: 2 * o.cards - (await pendingOf(ctx, runs)),
      wallMs,
      calls: stats.calls,
      throttled: Object.entries(stats.byCode)
        .filter(([code]) => throttledCode(code))
        .reduce((n, [, k]) => n + k, 0),
      peakArrivals: stats.peakPerSecond,
      peakOk: stats.peakOkPerSecond,
      peakSends: peakSends(calls),
      billedTwice: twice[0]?.n ?? 0,
      rates: rates(calls, wallMs, Q),
      perQueue: runs.map((r) => admitted.filter((c) => c.run === r).length / (wallMs / 1000)),
      note: `first call ${fmt((first - t0) / 1000, 2)} s after the runs were queued; ledger ${fmt(calls.length)} calls, emulator ${fmt(stats.calls)}${done ? '' : `; NOT drained within ${o.timeoutS} s`}`,
    };
  } finally {
    await stopWorkers(procs);
    for (const q of queues) await dropQueue(ctx, q);
    for (const k of new Set(keys)) await dropQuota(ctx, k);
    summariseLogs(procs.map((w) => w.output()));
  }
}

export async function quotaQueues(ctx: WorkerBench, o: QuotaQueuesOptions): Promise<void> {
  console.log(
    `\n## Two queues on one account: ${fmt(o.cards)} cards a queue, Q = ${Q}/s for the SecretId, latency ${LATENCY_MS.join('-')} ms`,
  );
  console.log(`  ${describeMachine(process.version)}; commit ${describeCommit()}`);
  const objects = await specimens(ctx, 'quota-queues/', DISTINCT);
  await ctx.emulator.configure({ qps: Q, latencyMs: LATENCY_MS, faults: {} });
  console.log(`  ${DISTINCT} specimens uploaded, the emulator warmed on each`);
  const rows: Row[] = [];
  for (const mode of o.runs) {
    if (rows.length > 0) await sleep(1500);
    console.log(`  run: ${LABELS[mode][0]} (load average ${loadAverage()})`);
    rows.push(await scenario(ctx, objects, mode, o));
  }

  const table: (string | number)[][] = [
    [
      'run',
      'quota keys',
      'cards done',
      'wall s',
      'calls',
      'throttled',
      'throttled share',
      'peak arrivals in 1 s (emulator)',
      'peak admitted OK in 1 s (emulator)',
      'peak sends in 1 s (ledger)',
      'cards billed twice',
      'admitted/s together, steady (÷ Q)',
      'admitted/s together, whole run (÷ Q)',
      'admitted/s per run, whole run',
    ],
  ];
  for (const r of rows) {
    table.push([
      r.label,
      r.keys,
      `${fmt(r.done)} / ${fmt(2 * o.cards)}`,
      fmt(r.wallMs / 1000, 1),
      fmt(r.calls),
      fmt(r.throttled),
      pct(r.throttled / Math.max(1, r.calls)),
      r.peakArrivals,
      r.peakOk,
      r.peakSends,
      r.billedTwice,
      `${fmt(r.rates.admittedSteady * Q, 1)} (${fmt(r.rates.admittedSteady, 3)})`,
      `${fmt(r.rates.admittedWhole * Q, 1)} (${fmt(r.rates.admittedWhole, 3)})`,
      r.perQueue.map((x) => fmt(x, 1)).join(' / '),
    ]);
  }
  console.log();
  printTable(table);
  for (const r of rows) console.log(`  note (${r.label}): ${r.note}`);
  console.log(
    '  admitted = every call but the throttled ones; steady = 10th to 90th percentile of the successful send times; whole run = from queueing both runs to the last outcome',
  );
  const share = (r: Row): number => r.throttled / Math.max(1, r.calls);
  const others = (f: (r: Row) => string): string =>
    rows
      .filter((r) => r.mode !== 'shared')
      .map((r) => `${r.mode}: ${f(r)}`)
      .join('; ');
  for (const r of rows.filter((x) => x.mode === 'shared')) {
    console.log(
      `bar: at most ${BARS.peak} calls in any 1 s at the emulator: ${verdict(r.peakArrivals <= BARS.peak)} (${r.peakArrivals}; ${others((x) => String(x.peakArrivals))})`,
    );
    console.log(
      `bar: throttled calls <= ${pct(BARS.throttled, 1)}: ${verdict(share(r) <= BARS.throttled)} (${pct(share(r))}: ${r.throttled} of ${fmt(r.calls)}; ${others((x) => `${pct(share(x))}, ${x.throttled} of ${fmt(x.calls)}`)})`,
    );
  }
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      cards: { type: 'string', default: '600' },
      runs: { type: 'string', default: 'shared,per-queue,one-queue' },
      'dump-calls': { type: 'string' },
      'timeout-s': { type: 'string', default: '600' },
      ...SERVICE_OPTIONS,
    },
  });
  const runs = values.runs.split(',') as Mode[];
  const bad = runs.filter((m) => !(m in LABELS));
  if (bad.length)
    throw new Error(`--runs: unknown ${bad.join(', ')}; give ${Object.keys(LABELS).join(', ')}`);
  const o: QuotaQueuesOptions = {
    cards: Number(values.cards),
    timeoutS: Number(values['timeout-s']),
    runs,
    dumpCalls: values['dump-calls'],
  };
  await runWorkerBench(values, [['quota-queues', (ctx) => quotaQueues(ctx, o)]]);
}
