import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { renderFault } from './faults.js';
import { type GenerateCardOptions, generateCard } from './generateCard.js';
import { createRandom } from './random.js';
import { renderCard, type SpecimenFormat } from './renderCard.js';
import {
  FAULT_KINDS,
  type FaultKind,
  type SampleKind,
  type SampleObject,
  type SampleSink,
  type SamplesSummary,
} from './sampleTypes.js';

/** Options of {@link generateSamples} and {@link writeSamples}. */
export interface GenerateSamplesOptions extends GenerateCardOptions {
  /** Number of good cards; faults come on top. */
  count: number;
  /** Dataset seed (an integer); default 1. The same seed and options give the same bytes. */
  seed?: number;
  /** Add the bad inputs of `samples --faults`: at least one of each kind; default false. */
  faults?: boolean;
  /** Share of cards that also get a back image, 0 to 1; default 0.5. */
  backRatio?: number;
  /** Card image encoding; default `jpeg`. */
  format?: SpecimenFormat;
}

/** One of each fault kind per this many cards (at least one); the oversize one stays single. */
const CARDS_PER_FAULT = 500;

function validate(
  opts: GenerateSamplesOptions,
): Required<Pick<GenerateSamplesOptions, 'seed' | 'backRatio'>> {
  if (!Number.isInteger(opts.count) || opts.count < 0) {
    throw new Error(`\`count\` must be an integer >= 0, got \`${opts.count}\``);
  }
  const seed = opts.seed ?? 1;
  if (!Number.isInteger(seed)) throw new Error(`\`seed\` must be an integer, got \`${seed}\``);
  const backRatio = opts.backRatio ?? 0.5;
  if (!(backRatio >= 0 && backRatio <= 1)) {
    throw new Error(`\`backRatio\` must be a number from 0 to 1, got \`${backRatio}\``);
  }
  return { seed, backRatio };
}

/** Which faults go after which card: spread through the dataset, as they would be in a real bucket. */
function faultSchedule(count: number, enabled: boolean): Map<number, [FaultKind, number][]> {
  const schedule = new Map<number, [FaultKind, number][]>();
  if (!enabled) return schedule;
  const repeats = Math.max(1, Math.ceil(count / CARDS_PER_FAULT));
  const faults: [FaultKind, number][] = [];
  for (let n = 1; n <= repeats; n++) {
    for (const kind of FAULT_KINDS) if (kind !== 'oversize' || n === 1) faults.push([kind, n]);
  }
  faults.forEach((f, j) => {
    const after = Math.max(0, Math.floor(((j + 1) * count) / (faults.length + 1)) - 1);
    schedule.set(after, [...(schedule.get(after) ?? []), f]);
  });
  return schedule;
}

/**
 * The objects of a sample dataset, one at a time (nothing is held beyond the current card):
 * `card-NNNNNN_front.<ext>` for every card, `card-NNNNNN_back.<ext>` for those with a back,
 * and with `faults`, `fault-<kind>-NNNN...` objects spread among them.
 */
export async function* generateSamples(opts: GenerateSamplesOptions): AsyncGenerator<SampleObject> {
  const { seed, backRatio } = validate(opts);
  const format = opts.format ?? 'jpeg';
  const ext = format === 'png' ? 'png' : 'jpg';
  const contentType = format === 'png' ? 'image/png' : 'image/jpeg';
  const cardOpts: GenerateCardOptions = {};
  if (opts.referenceDate !== undefined) cardOpts.referenceDate = opts.referenceDate;
  if (opts.conditionRate !== undefined) cardOpts.conditionRate = opts.conditionRate;
  const schedule = faultSchedule(opts.count, opts.faults ?? false);
  const faultsAfter = async function* (i: number): AsyncGenerator<SampleObject> {
    for (const [kind, n] of schedule.get(i) ?? []) yield await renderFault(kind, seed, n);
  };
  if (opts.count === 0) yield* faultsAfter(0);
  for (let i = 0; i < opts.count; i++) {
    const card = generateCard(seed, i, cardOpts);
    const withBack = createRandom(seed, i, 7).chance(backRatio);
    const out = await renderCard(card, { format, back: withBack });
    const stem = `card-${String(i).padStart(6, '0')}`;
    const common = { contentType, kind: 'card' as const, specimenId: card.specimenId };
    yield { ...common, key: `${stem}_front.${ext}`, body: out.front, side: 'front', truth: out.truth };
    if (out.back && out.backTruth) {
      yield { ...common, key: `${stem}_back.${ext}`, body: out.back, side: 'back', truth: out.backTruth };
    }
    yield* faultsAfter(i);
  }
}

/** Renders a dataset into `sink`, one object at a time, and says what was written. */
export async function writeSamples(
  opts: GenerateSamplesOptions & { sink: SampleSink },
): Promise<SamplesSummary> {
  const started = performance.now();
  const counts = Object.fromEntries(['card', ...FAULT_KINDS].map((k) => [k, 0])) as Record<
    SampleKind,
    number
  >;
  const summary: SamplesSummary = { cards: 0, cardsWithBack: 0, counts, bytes: 0, objects: [], elapsedMs: 0 };
  for await (const obj of generateSamples(opts)) {
    await opts.sink(obj);
    counts[obj.kind]++;
    summary.bytes += obj.body.length;
    if (obj.kind === 'card' && obj.side === 'front') summary.cards++;
    if (obj.kind === 'card' && obj.side === 'back') summary.cardsWithBack++;
    summary.objects.push(
      obj.specimenId
        ? { key: obj.key, kind: obj.kind, specimenId: obj.specimenId }
        : { key: obj.key, kind: obj.kind },
    );
  }
  summary.elapsedMs = performance.now() - started;
  return summary;
}

/** A sink that writes each object to `dir/key`, creating folders as needed. */
export function dirSink(dir: string): SampleSink {
  const made = new Set<string>();
  return async (obj) => {
    const path = join(dir, obj.key);
    const parent = dirname(path);
    if (!made.has(parent)) {
      await mkdir(parent, { recursive: true });
      made.add(parent);
    }
    await writeFile(path, obj.body);
  };
}
