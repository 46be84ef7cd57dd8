// Does a nightly run cut ahead of the backlog?
//   npm run bench -- priority [--backlog 20000] [--nightly 1000] [--baseline-backlog 4000]
//                             [--lead-s 10] [--window N] [--timeout-s 900]
//                             [--database-url postgres://...] [--redis-url redis://...]
// Setup: a backlog of N cards at priority low is queued and worked by two `macao-ocr work`
// processes (the CLI itself, OCR_QPS 50, url mode, automatic concurrency) against the emulator
// (limit Q = 50/s, latency 200-600 ms). `--lead-s` after the backlog is queued, a nightly run of
// 1,000 cards is enqueued at priority high. Each run is made as `enqueue --priority P` makes it
// (a run with its priority and window, pending rows, the window's jobs with the run's priority);
// the window defaults to the CLI's at OCR_QPS 50 (15 minutes of work: 45,000 jobs).
// Measured: from the nightly enqueue to the last nightly card's finished_at in the store.
// Baseline, same run: both runs at priority normal, where the nightly run waits behind the backlog
// (FIFO); with a smaller backlog (--baseline-backlog) so that the bench ends in minutes.
// Bar: the nightly run done within 1.1 × 1000/Q + 2 s = 24 s of its enqueue.
import { parseArgs } from 'node:util';
import { defaultWindow } from '../src/defaults.js';
import type { Priority } from '../src/results/types.js';
import { serviceEnv } from '../test/support/pipeline.js';
import type { WorkerProcess } from '../test/support/processes.js';
import { type Call, pct, peakSends, summariseLogs, throttledCode } from './lib/quota.js';
import { describeCommit, describeMachine, SERVICE_OPTIONS } from './lib/setup.js';
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

const Q = 50;
const LATENCY_MS = [200, 600] as const;
const DISTINCT = 40;

export interface PriorityOptions {
  backlog: number;
  nightly: number;
  baselineBacklog: number;
  leadS: number;
  window: number;
  timeoutS: number;
}

interface Scenario {
  label: string;
  backlog: number;
  backlogPriority: Priority;
  nightlyPriority: Priority;
}

interface Row {
  s: Scenario;
  /** Backlog cards finished, and still pending, when the nightly run was enqueued. */
  backlogDoneBefore: number;
  backlogPendingAt: number;
  /** Backlog jobs the workers held (BullMQ active) just before the nightly enqueue. */
  activeAt: number;
  /** Seconds from the nightly enqueue: its jobs all added, its first call, its last card. */
  enqueuedS: number;
  firstCallS: number;
  lastS: number;
  nightlyDone: number;
  /** Backlog cards finished between the nightly enqueue and its last card. */
  backlogMeanwhile: number;
  /** Calls admitted by the emulator (all but the throttled) per second over the same span. */
  admittedPerS: number;
  calls: number;
  throttled: number;
  peakArrivals: number;
  peakSends: number;
}

/** Epoch ms as a timestamptz parameter. */
const at = (ms: number): string => new Date(ms).toISOString();

async function scenario(
  ctx: WorkerBench,
  objects: BenchObject[],
  s: Scenario,
  o: PriorityOptions,
): Promise<Row> {
  const queue = newQueue(ctx);
  const env = { ...serviceEnv(endpoints(ctx, queue.name)), OCR_QPS: String(Q) };
  let procs: WorkerProcess[] = [];
  const runs: string[] = [];
  try {
    await ctx.emulator.reset();
    procs = await startWorkers([env, env], ['--image-mode', 'url']);
    const backlog = await queueCopies(ctx, queue, objects, s.backlog, {
      priority: s.backlogPriority,
      window: o.window,
    });
    runs.push(backlog);
    console.log(
      `  ${s.label}: backlog of ${fmt(s.backlog)} queued (${s.backlogPriority}), ${o.leadS} s of work`,
    );
    await sleep(o.leadS * 1000);
    const backlogPendingAt = await pendingOf(ctx, [backlog]);
    const activeAt = await queue.getActiveCount();
    const t0 = Date.now();
    const nightly = await queueCopies(ctx, queue, objects, o.nightly, {
      priority: s.nightlyPriority,
      window: o.window,
    });
    runs.push(nightly);
    const enqueuedS = (Date.now() - t0) / 1000;
    const done = await drained(ctx, [nightly], o.timeoutS * 1000);
    const stats = await ctx.emulator.stats();
    const last = await epochOf(
      ctx,
      'SELECT (extract(epoch FROM max(finished_at)) * 1000)::float8 AS t FROM cards WHERE run_id = $1 AND NOT pending',
      [nightly],
    );
    const end = done && last !== undefined ? last : Date.now();
    const { rows } = await ctx.store.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM cards WHERE run_id = $1 AND NOT pending
         AND finished_at > $2::timestamptz AND finished_at <= $3::timestamptz`,
      [backlog, at(t0), at(end)],
    );
    const calls = await ledgerCalls(ctx, runs);
    const span = calls.filter((c) => c.t >= t0 && c.t <= end);
    const firstNightly = calls.find((c) => c.run === nightly)?.t ?? Number.NaN;
    return {
      s,
      backlogDoneBefore: s.backlog - backlogPendingAt,
      backlogPendingAt,
      activeAt,
      enqueuedS,
      firstCallS: (firstNightly - t0) / 1000,
      lastS: (end - t0) / 1000,
      nightlyDone: o.nightly - (await pendingOf(ctx, [nightly])),
      backlogMeanwhile: rows[0]?.n ?? 0,
      admittedPerS: span.filter((c) => !throttledCode(c.code)).length / ((end - t0) / 1000),
      calls: stats.calls,
      throttled: Object.entries(stats.byCode)
        .filter(([code]) => throttledCode(code))
        .reduce((n, [, k]) => n + k, 0),
      peakArrivals: stats.peakPerSecond,
      peakSends: peakSends(calls as Call[]),
    };
  } finally {
    await stopWorkers(procs);
    // The backlog is left unfinished: its runs are closed so that no later worker refills them.
    for (const id of runs) await ctx.store.setRunState(id, 'done');
    await dropQueue(ctx, queue);
    await dropQuota(ctx, queue.name);
    summariseLogs(procs.map((w) => w.output()));
  }
}

export async function priority(ctx: WorkerBench, o: PriorityOptions): Promise<void> {
  const barS = (1.1 * o.nightly) / Q + 2;
  console.log(
    `\n## Priority: a nightly run of ${fmt(o.nightly)} cards enqueued ${o.leadS} s into a backlog, Q = ${Q}/s, latency ${LATENCY_MS.join('-')} ms, window ${fmt(o.window)}`,
  );
  console.log(`  ${describeMachine(process.version)}; commit ${describeCommit()}`);
  const objects = await specimens(ctx, 'priority/', DISTINCT);
  await ctx.emulator.configure({ qps: Q, latencyMs: LATENCY_MS, faults: {} });
  console.log(`  ${DISTINCT} specimens uploaded, the emulator warmed on each`);
  const rows: Row[] = [];
  for (const s of [
    { label: 'priorities', backlog: o.backlog, backlogPriority: 'low', nightlyPriority: 'high' },
    { label: 'baseline', backlog: o.baselineBacklog, backlogPriority: 'normal', nightlyPriority: 'normal' },
  ] satisfies Scenario[]) {
    rows.push(await scenario(ctx, objects, s, o));
    await sleep(1500);
  }

  const table: (string | number)[][] = [
    [
      'run',
      'backlog cards (priority)',
      'nightly cards (priority)',
      'backlog done / pending at the nightly enqueue',
      'nightly jobs added s',
      'enqueue → first nightly call s',
      'enqueue → last nightly card s',
      `÷ ${fmt(o.nightly)}/Q (${fmt(o.nightly / Q)} s)`,
      'nightly done',
      'backlog jobs active at the enqueue',
      'backlog cards finished meanwhile',
      'nightly cards/s, its first call → its last card',
      'admitted calls/s meanwhile (÷ Q)',
      'calls',
      'throttled',
      'peak arrivals in 1 s',
      'peak sends in 1 s',
    ],
  ];
  for (const r of rows) {
    table.push([
      r.s.label === 'baseline' ? 'baseline: both normal (FIFO)' : 'backlog low, nightly high',
      `${fmt(r.s.backlog)} (${r.s.backlogPriority})`,
      `${fmt(o.nightly)} (${r.s.nightlyPriority})`,
      `${fmt(r.backlogDoneBefore)} / ${fmt(r.backlogPendingAt)}`,
      fmt(r.enqueuedS, 2),
      fmt(r.firstCallS, 2),
      fmt(r.lastS, 1),
      fmt(r.lastS / (o.nightly / Q), 2),
      `${fmt(r.nightlyDone)} / ${fmt(o.nightly)}`,
      fmt(r.activeAt),
      fmt(r.backlogMeanwhile),
      fmt(r.nightlyDone / Math.max(0.001, r.lastS - r.firstCallS), 1),
      `${fmt(r.admittedPerS, 1)} (${fmt(r.admittedPerS / Q, 3)})`,
      fmt(r.calls),
      `${fmt(r.throttled)} (${pct(r.throttled / Math.max(1, r.calls))})`,
      r.peakArrivals,
      r.peakSends,
    ]);
  }
  console.log();
  printTable(table);
  console.log(
    "  calls, throttled and peaks: at the emulator (and by the ledger's send times) from the workers' start to the nightly run's last card; \"meanwhile\": from the nightly enqueue to its last card",
  );
  const [p, b] = rows as [Row, Row];
  const met = p.nightlyDone === o.nightly && p.lastS <= barS;
  console.log(
    `bar: nightly run done within 1.1 × ${fmt(o.nightly)}/Q + 2 s = ${fmt(barS, 1)} s of its enqueue: ${verdict(met)} (${fmt(p.lastS, 1)} s; ${fmt(p.backlogMeanwhile)} backlog cards finished meanwhile, the ones in flight at the enqueue; ${fmt(p.throttled)} throttled)`,
  );
  console.log(
    `baseline (FIFO, backlog ${fmt(o.baselineBacklog)}, ${fmt(b.backlogPendingAt)} of it pending at the enqueue): the nightly run done ${fmt(b.lastS, 1)} s after its enqueue (${fmt(b.lastS / Math.max(0.001, p.lastS), 1)}× the priority run), after ${fmt(b.backlogMeanwhile)} backlog cards${
      o.window >= o.backlog
        ? `; with the whole backlog of ${fmt(o.backlog)} in the queue, FIFO at the achieved rate would take ~${fmt((p.backlogPendingAt + o.nightly) / Math.max(1, b.admittedPerS))} s`
        : `: the backlog's jobs in Redis at the enqueue (window ${fmt(o.window)}); the rest waited in the store`
    }`,
  );
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      backlog: { type: 'string', default: '20000' },
      nightly: { type: 'string', default: '1000' },
      'baseline-backlog': { type: 'string', default: '4000' },
      'lead-s': { type: 'string', default: '10' },
      window: { type: 'string', default: String(defaultWindow(Q)) },
      'timeout-s': { type: 'string', default: '900' },
      ...SERVICE_OPTIONS,
    },
  });
  const o: PriorityOptions = {
    backlog: Number(values.backlog),
    nightly: Number(values.nightly),
    baselineBacklog: Number(values['baseline-backlog']),
    leadS: Number(values['lead-s']),
    window: Number(values.window),
    timeoutS: Number(values['timeout-s']),
  };
  await runWorkerBench(values, [['priority', (ctx) => priority(ctx, o)]]);
}
