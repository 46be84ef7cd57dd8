// What does a card cost the worker in CPU, beside BullMQ's own cost per job?
//   npm run bench -- worker-overhead [--cards 20000] [--base64-cards 5000] [--child-node-flags='--cpu-prof ...']
//                                    [--database-url postgres://...] [--redis-url redis://...]
// Setup: the emulator without limit or latency; one worker process at concurrency 64 over N jobs
// naming 50 tiny specimens (64×40 JPEGs carrying their truth), in url mode, then in base64 mode
// (`--base64-cards`, 0 to skip it). Baseline: a BullMQ Worker whose processor returns at once,
// over as many jobs with the same options. Bar: <= 5 ms of the worker's CPU per card.
// The measured workers run as plain JavaScript transpiled from src/ and bench/ (as the CLI runs
// from dist/) and measure their own CPU (process.cpuUsage, every thread); the emulator's and
// s3rver's CPU are read from /proc beside it.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { SPECIMEN_SCHEMA, type SpecimenTruth, truthToXmp } from '../src/sandbox/emulator/groundTruth.js';
import { generateCard } from '../src/sandbox/specimen/index.js';
import { procCpuMs } from './lib/processes.js';
import { SERVICE_OPTIONS } from './lib/setup.js';
import {
  type BenchObject,
  CHILD_OPTIONS,
  isMain,
  joinCounts,
  onCopies,
  putBenchObject,
  runBuilt,
  runCardChild,
  runWorkerBench,
  verdict,
  type WorkerBench,
} from './lib/workerBench.js';
import { fmt, printTable } from './lib.js';
import type { NoopChildArgs, NoopChildResult } from './worker-noop.child.js';

const CONCURRENCY = 64;
const BAR_CPU_MS_PER_CARD = 5;

export interface OverheadOptions {
  /** Cards in url mode, and jobs of the no-op baseline. */
  cards: number;
  base64Cards: number;
}

/** A 64×40 JPEG that carries a specimen's truth: what the emulator recognizes, at almost no cost. */
async function tinySpecimen(i: number): Promise<Buffer> {
  const card = generateCard(52, i);
  const truth: SpecimenTruth = {
    schema: SPECIMEN_SCHEMA,
    specimenId: card.specimenId,
    side: 'front',
    fields: { ...card.fields },
    warnings: [],
    width: 64,
    height: 40,
  };
  return sharp({ create: { width: 64, height: 40, channels: 3, background: { r: 200, g: 210, b: 230 } } })
    .jpeg({ quality: 80 })
    .withXmp(truthToXmp(truth))
    .toBuffer();
}

interface Row {
  run: string;
  n: number;
  ms: number;
  user: number;
  sys: number;
  emulatorMs?: number;
  s3Ms?: number;
  note: string;
}

export async function overhead(ctx: WorkerBench, o: OverheadOptions): Promise<void> {
  console.log(
    `\n## 2. Overhead: ${fmt(o.cards)} cards, emulator without limit or latency, one worker process`,
  );
  await ctx.emulator.configure({ qps: 0, latencyMs: [0, 0], faults: {} });
  const objects: BenchObject[] = [];
  for (let i = 0; i < 50; i++) {
    const key = `overhead/tiny-${String(i).padStart(2, '0')}_front.jpg`;
    objects.push(await putBenchObject(ctx, key, await tinySpecimen(i), 'image/jpeg'));
  }
  console.log(`  ${objects.length} tiny specimens (${objects[0]!.bytes} bytes each) uploaded`);

  const rows: Row[] = [];
  const noop = await onCopies(ctx, objects, o.cards, (queue) => {
    console.log('  run: BullMQ no-op worker');
    const a: NoopChildArgs = {
      redisUrl: ctx.redisUrl,
      queueName: queue.name,
      concurrency: CONCURRENCY,
      expected: o.cards,
      timeoutMs: 300_000,
    };
    return runBuilt<NoopChildResult>(ctx, 'worker-noop.child.js', a);
  });
  rows.push({
    run: `BullMQ Worker, no-op processor, concurrency ${CONCURRENCY}`,
    n: noop.jobs,
    ms: noop.ms,
    user: noop.cpuUserMs,
    sys: noop.cpuSystemMs,
    note: noop.timedOut ? 'timed out' : '',
  });
  for (const [mode, n] of [
    ['url', o.cards],
    ['base64', o.base64Cards],
  ] as const) {
    if (!(n > 0)) continue;
    rows.push(
      await onCopies(ctx, objects, n, async (queue): Promise<Row> => {
        await ctx.emulator.reset();
        console.log(`  run: card worker, ${mode} mode, ${fmt(n)} cards`);
        const emu0 = procCpuMs(ctx.emulator.child);
        const s30 = procCpuMs(ctx.s3Service.proc);
        const r = await runCardChild(ctx, queue, mode, {
          concurrency: CONCURRENCY,
          expected: n,
          logFile: join(ctx.root, `overhead-${mode}.log`),
          timeoutMs: 400_000,
        });
        const stats = await ctx.emulator.stats();
        return {
          run: `card worker (startCardWorker), ${mode} mode, concurrency ${CONCURRENCY}`,
          n: r.cards,
          ms: r.ms,
          user: r.cpuUserMs,
          sys: r.cpuSystemMs,
          emulatorMs: procCpuMs(ctx.emulator.child) - emu0,
          s3Ms: procCpuMs(ctx.s3Service.proc) - s30,
          note: `${joinCounts(r.outcomes)}; emulator calls ${stats.calls}${r.timedOut ? '; timed out' : ''}`,
        };
      }),
    );
  }
  const base = rows[0]!;
  const perJob = (r: Row) => (r.user + r.sys) / Math.max(1, r.n);
  const perCard = (ms: number | undefined, r: Row) =>
    ms === undefined ? '-' : fmt(ms / Math.max(1, r.n), 2);
  console.log();
  printTable([
    [
      'run',
      'jobs',
      'wall s',
      'jobs/s',
      'CPU user ms',
      'CPU sys ms',
      'CPU ms / job',
      '× BullMQ',
      'emulator CPU ms / job',
      's3rver CPU ms / job',
      'outcomes',
    ],
    ...rows.map((r) => [
      r.run,
      fmt(r.n),
      fmt(r.ms / 1000, 1),
      fmt(r.n / (r.ms / 1000)),
      fmt(r.user),
      fmt(r.sys),
      fmt(perJob(r), 3),
      fmt(perJob(r) / perJob(base), 1),
      perCard(r.emulatorMs, r),
      perCard(r.s3Ms, r),
      r.note,
    ]),
  ]);
  console.log(
    '  CPU = process.cpuUsage() of the worker process (all its threads), from just before the worker starts to the last outcome; the emulator, s3rver (their CPU from /proc, 10 ms ticks), Redis and PostgreSQL run in other processes',
  );
  for (const r of rows.slice(1)) {
    const ms = perJob(r);
    console.log(
      `bar: <= ${BAR_CPU_MS_PER_CARD} ms CPU per card (${r.run.includes('url') ? 'url mode, the default' : 'base64 mode'}): ${verdict(ms <= BAR_CPU_MS_PER_CARD)} (${fmt(ms, 3)} ms, ${fmt((ms / BAR_CPU_MS_PER_CARD) * 100)}% of the bar)`,
    );
  }
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      cards: { type: 'string', default: '20000' },
      'base64-cards': { type: 'string', default: '5000' },
      ...CHILD_OPTIONS,
      ...SERVICE_OPTIONS,
    },
  });
  const o: OverheadOptions = { cards: Number(values.cards), base64Cards: Number(values['base64-cards']) };
  await runWorkerBench(values, [['overhead', (ctx) => overhead(ctx, o)]]);
}
