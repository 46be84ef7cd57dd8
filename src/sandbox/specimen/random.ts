/**
 * A small seeded random source, so that a dataset is reproducible from (seed, index) alone:
 * the same card data, the same pixels, the same bytes and so the same ETags on every run.
 * `Math.random` is never used in the specimen renderer.
 */

import { seededRandom } from '../emulator/seededRandom.js';

/** A seeded source of numbers in [0, 1) with the helpers the generator and renderer need. */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [min, max], both inclusive. */
  int(min: number, max: number): number;
  /** Uniform in [min, max). */
  range(min: number, max: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  /** One element, uniformly. */
  pick<T>(items: readonly T[]): T;
  /** One element, by weight: `[[value, weight], ...]`. */
  weighted<T>(items: readonly (readonly [T, number])[]): T;
}

/** Mixes several integers into one 32-bit seed, so nearby (seed, index, stream) pairs diverge. */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0x5bd1e995) >>> 0;
    h ^= h >>> 15;
  }
  return h >>> 0;
}

/** A seeded {@link Random}; pass several numbers to derive independent streams. */
export function createRandom(...seedParts: number[]): Random {
  const next = seededRandom(mixSeed(...seedParts));
  const r: Random = {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    range: (min, max) => min + next() * (max - min),
    chance: (p) => next() < p,
    pick: (items) => {
      if (items.length === 0) throw new Error('pick() from an empty list');
      return items[Math.floor(next() * items.length)]!;
    },
    weighted: (items) => {
      const total = items.reduce((s, [, w]) => s + w, 0);
      let x = next() * total;
      for (const [v, w] of items) {
        x -= w;
        if (x < 0) return v;
      }
      return items[items.length - 1]![0];
    },
  };
  return r;
}
