// Does the worker use the API quota fully without going over it?
//   npm run bench -- worker-quota [--cards 2000] [--dump-calls FILE]
//                                 [--database-url postgres://...] [--redis-url redis://...]
// Setup: N cards (40 distinct specimens uploaded under N keys), emulator limit Q = 50 calls/s,
// latency 100-600 ms, 10% FailedOperation.OcrFailed. Two `macao-ocr work --qps 50` processes (the
// CLI itself, `node --import tsx src/cli/bin.ts work`, automatic concurrency) against a naive
// fixed-concurrency loop in this process over the same cards.
// Bars: quota use >= 0.95 of Q, throttled calls <= 0.5%, better than the naive loop.
// `--dump-calls FILE` appends every call of both runs ({run, ms, code}) as JSON lines to FILE.
import { parseArgs } from 'node:util';
import { mapLimit } from '../src/mapLimit.js';
import { type CallRecord, createOcrClient } from '../src/ocr/client.js';
import { ruleFor } from '../src/ocr/errorActions.js';
import { isOcrError } from '../src/ocr/OcrError.js';
import { enqueueRun } from '../src/producer/enqueueRun.js';
import { generateCard, renderCard } from '../src/sandbox/specimen/index.js';
import { presignGet } from '../src/storage/objects.js';
import { putObject } from '../src/storage/s3.js';
import { CREDENTIAL, serviceEnv } from '../test/support/pipeline.js';
import { spawnWork, until, type WorkerProcess } from '../test/support/processes.js';
import { stopChild, track } from './lib/processes.js';
import {
  type Call,
  dumpCalls,
  pct,
  peakSends,
  printQuotaTable,
  type QuotaRow,
  rates,
  summariseLogs,
  throttledCode,
} from './lib/quota.js';
import { SERVICE_OPTIONS } from './lib/setup.js';
import { REPO_ROOT } from './lib/transpile.js';
import {
  BUCKET,
  dropQueue,
  endpoints,
  isMain,
  newQueue,
  runWorkerBench,
  sleep,
  verdict,
  type WorkerBench,
} from './lib/workerBench.js';
import { fmt } from './lib.js';

const Q = 50;
const FAULT_RATE = 0.1;
const DISTINCT = 40;
const BASELINE_CONCURRENCY = 32;
const BASELINE_RETRY_MS = 100;
const BARS = { utilisation: 0.95, throttled: 0.005 };

export interface QuotaOptions {
  cards: number;
  dumpCalls?: string | undefined;
}

/** Two `macao-ocr work` processes, spawned as an operator would; the run starts once both are up. */
async function quotaWorkers(ctx: WorkerBench, o: QuotaOptions): Promise<QuotaRow> {
  const queue = newQueue(ctx);
  const procs: WorkerProcess[] = [];
  try {
    await ctx.emulator.reset();
    const env = serviceEnv(endpoints(ctx, queue.name));
    for (let i = 0; i < 2; i++) {
      const w = spawnWork(env, ['--qps', String(Q), '--image-mode', 'url'], { cwd: REPO_ROOT });
      track(w.child);
      procs.push(w);
    }
    await until(
      () => {
        const dead = procs.findIndex((w) => w.child.exitCode !== null);
        if (dead >= 0) throw new Error(`work process ${dead} exited with ${procs[dead]!.child.exitCode}`);
        return procs.every((w) => w.output().includes('"worker started"'));
      },
      60_000,
      'both work processes to start',
    );
    const t0 = Date.now();
    const run = await enqueueRun({
      sources: [`s3://${BUCKET}/quota/`],
      s3: ctx.s3,
      store: ctx.store,
      queue,
      redis: ctx.redis,
    });
    if (run.counts.enqueued !== o.cards) throw new Error(`enqueued ${run.counts.enqueued} of ${o.cards}`);
    const deadline = Date.now() + 300_000;
    let done = 0;
    for (;;) {
      const { rows } = await ctx.store.pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM cards WHERE run_id = $1 AND NOT pending',
        [run.runId],
      );
      done = rows[0]?.n ?? 0;
      if (done >= o.cards || Date.now() > deadline) break;
      await sleep(100);
    }
    const stats = await ctx.emulator.stats();
    const epochMs = async (sql: string): Promise<number | undefined> =>
      (await ctx.store.pool.query<{ t: number }>(sql, [run.runId])).rows[0]?.t;
    const last = await epochMs(
      'SELECT (extract(epoch FROM max(finished_at)) * 1000)::float8 AS t FROM cards WHERE run_id = $1',
    );
    const { rows: calls } = await ctx.store.pool.query<Call>(
      'SELECT (extract(epoch FROM called_at) * 1000)::float8 AS t, code FROM api_calls WHERE run_id = $1',
      [run.runId],
    );
    const first = await epochMs(
      'SELECT (extract(epoch FROM min(created_at)) * 1000)::float8 AS t FROM cards WHERE run_id = $1',
    );
    const wallMs = (last ?? Date.now()) - t0;
    dumpCalls(o.dumpCalls, 'workers', t0, calls);
    const sendTimes = calls.map((c) => c.t).sort((a, b) => a - b);
    const phases =
      `first card enqueued ${fmt(((first ?? t0) - t0) / 1000, 2)} s after the start, ` +
      `first call ${fmt(((sendTimes[0] ?? t0) - t0) / 1000, 2)} s, ` +
      `last call ${fmt(((sendTimes.at(-1) ?? t0) - t0) / 1000, 2)} s, last outcome ${fmt(wallMs / 1000, 2)} s`;
    const throttled = Object.entries(stats.byCode)
      .filter(([c]) => throttledCode(c))
      .reduce((s, [, n]) => s + n, 0);
    return {
      run: `2 × \`work --qps ${Q}\` (auto concurrency)`,
      done,
      wallMs,
      calls: stats.calls,
      throttled,
      faults: stats.byCode['FailedOperation.OcrFailed'] ?? 0,
      peakPerSecond: stats.peakPerSecond,
      peakSends: peakSends(calls),
      rates: rates(calls, wallMs, Q),
      note:
        calls.length !== stats.calls
          ? `${phases}; ledger holds ${calls.length} calls, emulator counted ${stats.calls}`
          : phases,
    };
  } finally {
    await Promise.all(procs.map((w) => stopChild(w.child, 35_000)));
    await dropQueue(ctx, queue);
    summariseLogs(procs.map((w) => w.output()));
  }
}

/**
 * The naive baseline: a fixed number of cards in flight, each retried after a fixed short delay on
 * any transient or throttling answer until it succeeds. Same cards, same OCR client, same URLs.
 */
async function quotaBaseline(ctx: WorkerBench, o: QuotaOptions, keys: string[]): Promise<QuotaRow> {
  await ctx.emulator.reset();
  const client = createOcrClient({ ...CREDENTIAL, endpoint: ctx.emulator.url, timeoutMs: 30_000 });
  const calls: Call[] = [];
  const onCall = (r: CallRecord) => calls.push({ t: r.startedAt, code: r.code });
  let done = 0;
  const t0 = performance.now();
  try {
    await mapLimit(keys, BASELINE_CONCURRENCY, async (key) => {
      const url = await presignGet(ctx.s3, BUCKET, key, 300);
      for (let tries = 1; ; tries++) {
        try {
          await client.recognize({ front: { url } }, { onCall });
          done++;
          return;
        } catch (e) {
          const action = ruleFor(isOcrError(e) ? e.code : 'unknown').action;
          if ((action !== 'retry' && action !== 'throttle') || tries >= 1000) return;
          await sleep(BASELINE_RETRY_MS);
        }
      }
    });
  } finally {
    client.close();
  }
  const wallMs = performance.now() - t0;
  dumpCalls(o.dumpCalls, 'baseline', Date.now() - wallMs, calls);
  const stats = await ctx.emulator.stats();
  return {
    run: `naive loop, ${BASELINE_CONCURRENCY} in flight, retry after ${BASELINE_RETRY_MS} ms`,
    done,
    wallMs,
    calls: stats.calls,
    throttled: calls.filter((c) => throttledCode(c.code)).length,
    faults: stats.byCode['FailedOperation.OcrFailed'] ?? 0,
    peakPerSecond: stats.peakPerSecond,
    peakSends: peakSends(calls),
    rates: rates(calls, wallMs, Q),
  };
}

export async function quota(ctx: WorkerBench, o: QuotaOptions): Promise<void> {
  const N = o.cards;
  console.log(`\n## 1. Quota use: ${fmt(N)} cards, Q = ${Q}/s, latency 100-600 ms, 10% OcrFailed`);
  const t = performance.now();
  const fronts: Buffer[] = [];
  for (let i = 0; i < DISTINCT; i++)
    fronts.push((await renderCard(generateCard(51, i), { back: false })).front);
  const keys = Array.from({ length: N }, (_, i) => `quota/card-${String(i).padStart(6, '0')}_front.jpg`);
  await mapLimit(
    keys.map((key, i) => ({ key, body: fronts[i % DISTINCT]! })),
    16,
    (c) => putObject(ctx.s3, BUCKET, c.key, c.body, 'image/jpeg').then(() => undefined),
  );
  console.log(
    `  ${DISTINCT} specimens rendered, uploaded under ${fmt(N)} keys (${fmt((performance.now() - t) / 1000, 1)} s)`,
  );
  // The emulator decodes each distinct image once (~30 ms of CPU, then its decode cache answers).
  // Unwarmed, whichever run came first would pay 40 decodes, 1.2 s of CPU on two cores, in its
  // first seconds, and the other none. One call per specimen before both runs; `reset` clears
  // counts, not the cache.
  const warm = createOcrClient({ ...CREDENTIAL, endpoint: ctx.emulator.url, timeoutMs: 30_000 });
  await ctx.emulator.configure({ qps: 0, latencyMs: [0, 0], faults: {} });
  await mapLimit(keys.slice(0, DISTINCT), 8, async (key) => {
    await warm.recognize({ front: { url: await presignGet(ctx.s3, BUCKET, key, 300) } });
  });
  warm.close();
  await ctx.emulator.configure({
    qps: Q,
    latencyMs: [100, 600],
    faults: { 'FailedOperation.OcrFailed': FAULT_RATE },
  });
  console.log(`  emulator warmed: one call per specimen (${DISTINCT}), before both runs`);
  console.log('  run: two work processes');
  const worker = await quotaWorkers(ctx, o);
  await sleep(1500);
  console.log('  run: naive baseline');
  const baseline = await quotaBaseline(ctx, o, keys);

  printQuotaTable(baseline, worker, N, Q);
  const w = worker.rates;
  const share = worker.throttled / Math.max(1, worker.calls);
  const bShare = baseline.throttled / Math.max(1, baseline.calls);
  console.log(
    `bar: quota use (admitted calls/s ÷ Q, steady state) >= ${BARS.utilisation}: ${verdict(w.admittedSteady >= BARS.utilisation)} (${fmt(w.admittedSteady, 3)}, ${w.admittedSteady >= BARS.utilisation ? '+' : ''}${fmt(w.admittedSteady - BARS.utilisation, 3)}); whole run ${fmt(w.admittedWhole, 3)}`,
  );
  console.log(
    `bar, literal reading: successful calls/s ÷ Q >= ${BARS.utilisation}: ${verdict(w.okSteady >= BARS.utilisation)} (${fmt(w.okSteady, 3)} steady, ${fmt(w.okWhole, 3)} whole run); with ${pct(FAULT_RATE, 0)} of admitted calls faulted, at most ${fmt(1 - FAULT_RATE, 2)} is reachable by anyone`,
  );
  console.log(
    `bar: throttled calls <= ${pct(BARS.throttled, 1)}: ${verdict(share <= BARS.throttled)} (${pct(share)}: ${worker.throttled} of ${worker.calls})`,
  );
  const better =
    worker.done === N &&
    share < bShare &&
    worker.wallMs <= baseline.wallMs * 1.02 &&
    w.okSteady >= baseline.rates.okSteady * 0.98;
  console.log(
    `bar: better than the naive baseline (every card done, fewer throttled calls, and wall time and successful rate no more than 2% worse): ${verdict(better)} (wall ${fmt(worker.wallMs / 1000, 1)} s vs ${fmt(baseline.wallMs / 1000, 1)} s; successful/s ÷ Q ${fmt(w.okSteady, 3)} vs ${fmt(baseline.rates.okSteady, 3)}; throttled ${pct(share)} vs ${pct(bShare)}; calls ${fmt(worker.calls)} vs ${fmt(baseline.calls)})`,
  );
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      cards: { type: 'string', default: '2000' },
      'dump-calls': { type: 'string' },
      ...SERVICE_OPTIONS,
    },
  });
  const o: QuotaOptions = { cards: Number(values.cards), dumpCalls: values['dump-calls'] };
  await runWorkerBench(values, [['quota', (ctx) => quota(ctx, o)]]);
}
