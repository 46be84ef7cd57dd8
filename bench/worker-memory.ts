// How much memory does the worker hold when it sends images inline (base64 mode)?
//   npm run bench -- worker-memory [--cards 200] [--child-node-flags='--cpu-prof ...']
//                                  [--database-url postgres://...] [--redis-url redis://...]
// Setup: N cards at concurrency 64, emulator latency 100-600 ms (bytes stay in flight while the
// answer is awaited), no rate limit; images ~6 MB and ~5 MB PNGs. Baseline: url mode, where the
// provider downloads the image and the worker holds no image bytes. One more run shows what a
// smaller byte budget does. Bar: peak RSS <= 512 MB in base64 mode with ~6 MB images.
// The measured workers run as plain JavaScript transpiled from src/ and bench/ (as the CLI runs
// from dist/: the tsx loader alone adds 30-70 MB of RSS); peak RSS is their own VmHWM.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { bigSide } from '../src/sandbox/specimen/bigSide.js';
import { generateCard } from '../src/sandbox/specimen/index.js';
import { SERVICE_OPTIONS } from './lib/setup.js';
import {
  type BenchObject,
  CHILD_OPTIONS,
  isMain,
  joinCounts,
  onCopies,
  putBenchObject,
  runCardChild,
  runWorkerBench,
  verdict,
  type WorkerBench,
} from './lib/workerBench.js';
import { fmt, printTable } from './lib.js';

const CONCURRENCY = 64;
const BAR_RSS_MB = 512;
const MiB = 1024 * 1024;

export interface MemoryOptions {
  cards: number;
}

export async function memory(ctx: WorkerBench, o: MemoryOptions): Promise<void> {
  console.log(
    `\n## 3. Memory: ${fmt(o.cards)} cards, concurrency ${CONCURRENCY}, latency 100-600 ms, large PNGs (emulator download limit raised to 30 s)`,
  );
  // Downloads of 6 MB from s3rver by 64 calls at once can pass the API's 3 s on a machine of two
  // cores; a DownLoadError sends the card inline instead, and the url baseline would then hold
  // image bytes.
  await ctx.emulator.configure({ qps: 0, latencyMs: [100, 600], faults: {}, downloadTimeoutMs: 30_000 });
  const images = [
    { label: '6.0 MB PNG (Base64 8.0 MB > 7 MB: downscaled)', target: 6 * MiB, key: 'memory/big6_front.png' },
    { label: '5.0 MB PNG (Base64 6.7 MB: sent as is)', target: 5 * MiB, key: 'memory/big5_front.png' },
  ];
  const objects: Record<string, BenchObject> = {};
  for (const img of images) {
    // A specimen front made `target` bytes large (±3%) by noise in its pixels, a PNG carrying the truth.
    const body = await bigSide(generateCard(53, 0), 'front', img.target);
    objects[img.key] = await putBenchObject(ctx, img.key, body, 'image/png');
    console.log(`  ${img.key}: ${fmt(body.length)} bytes`);
  }
  const runs: { mode: 'url' | 'base64'; img: (typeof images)[number]; budgetMb?: number }[] = [
    { mode: 'url', img: images[0]! },
    { mode: 'base64', img: images[0]! },
    { mode: 'base64', img: images[1]! },
    // Not the default: what the byte budget (256 MB unless set) does to the peak.
    { mode: 'base64', img: images[1]!, budgetMb: 128 },
  ];
  const rows: (string | number)[][] = [
    [
      'run',
      'image',
      'cards done',
      'wall s',
      'RSS before the first job MB',
      'peak RSS MB',
      'peak − before MB',
      'max V8 heap used MB',
      'max external MB',
      'API calls',
    ],
  ];
  const peaks: { mode: string; label: string; peak: number; budgetMb?: number }[] = [];
  for (const { mode, img, budgetMb } of runs) {
    const obj = objects[img.key]!;
    const r = await onCopies(ctx, [obj], o.cards, async (queue) => {
      await ctx.emulator.reset();
      console.log(
        `  run: card worker, ${mode} mode, ${img.key}${budgetMb ? `, byte budget ${budgetMb} MB` : ''}`,
      );
      return runCardChild(ctx, queue, mode, {
        concurrency: CONCURRENCY,
        expected: o.cards,
        logFile: join(ctx.root, `memory-${mode}-${obj.bytes}-${budgetMb ?? 'default'}.log`),
        timeoutMs: 300_000,
        ...(budgetMb ? { byteBudgetBytes: budgetMb * MiB } : {}),
      });
    });
    peaks.push({ mode, label: img.label, peak: r.peakRssMb, ...(budgetMb ? { budgetMb } : {}) });
    rows.push([
      `card worker, ${mode} mode${mode === 'url' ? ' (baseline: no image bytes in the worker)' : ''}${budgetMb ? `, byteBudgetBytes ${budgetMb} MB (not the default)` : ''}`,
      img.label,
      `${fmt(r.cards)} (${joinCounts(r.outcomes)})${r.timedOut ? ' timed out' : ''}`,
      fmt(r.ms / 1000, 1),
      fmt(r.idleRssMb),
      fmt(r.peakRssMb),
      fmt(r.peakRssMb - r.idleRssMb),
      fmt(r.maxHeapUsedMb),
      fmt(r.maxExternalMb),
      joinCounts(r.calls),
    ]);
  }
  console.log();
  printTable(rows);
  console.log(
    '  peak RSS = VmHWM of the worker process, run as plain JavaScript (as the CLI runs from dist/); heap and external sampled every 100 ms; the emulator and s3rver are other processes',
  );
  for (const p of peaks.filter((x) => x.mode === 'base64' && !x.budgetMb)) {
    console.log(
      `bar: peak RSS <= ${BAR_RSS_MB} MB (base64, ${p.label}): ${verdict(p.peak <= BAR_RSS_MB)} (${fmt(p.peak)} MB, ${p.peak <= BAR_RSS_MB ? `${fmt(BAR_RSS_MB - p.peak)} MB under` : `${fmt(p.peak - BAR_RSS_MB)} MB over`})`,
    );
  }
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: { cards: { type: 'string', default: '200' }, ...CHILD_OPTIONS, ...SERVICE_OPTIONS },
  });
  await runWorkerBench(values, [['memory', (ctx) => memory(ctx, { cards: Number(values.cards) })]]);
}
