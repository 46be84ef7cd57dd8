import type { ListedObject } from '../storage/objects.js';

/**
 * Front/back pairing. The default pattern: a shared stem with a `front`/`back` suffix, e.g.
 * `1234_front.jpg` + `1234_back.jpg` (`_` or `-`, any case, any image extension). A key without a
 * side is a front-only card; a back without its front is skipped.
 */
export const DEFAULT_PAIR_PATTERN = '^(?<stem>.+?)[_-](?<side>front|back)\\.[a-z0-9]+$';

/** A compiled pairing pattern; {@link compilePairPattern} checks it once. */
export interface PairPattern {
  source: string;
  regex: RegExp;
}

/**
 * Checks a user's `--pair-pattern`: it must capture `(?<stem>...)` starting at the beginning of
 * the key, and `(?<side>front|back)`. The stem must be a prefix so that pairing works on a
 * sorted listing in constant memory (all keys sharing a prefix are contiguous).
 */
export function compilePairPattern(source: string = DEFAULT_PAIR_PATTERN): PairPattern {
  let regex: RegExp;
  try {
    regex = new RegExp(source, 'i');
  } catch (e) {
    throw new Error(`--pair-pattern is not a valid regular expression: ${(e as Error).message}`);
  }
  if (!source.includes('(?<stem>') || !source.includes('(?<side>')) {
    throw new Error('--pair-pattern must have the named groups (?<stem>...) and (?<side>front|back)');
  }
  if (!source.startsWith('^(?<stem>')) {
    throw new Error('--pair-pattern must start with ^(?<stem>...): the stem is the beginning of the key');
  }
  return { source, regex };
}

/** What the pairer decided for one object or pair. */
export type Paired =
  | { kind: 'card'; front: ListedObject; back?: ListedObject }
  | { kind: 'skip'; object: ListedObject; reason: 'back-without-front' | 'ambiguous-pair' };

interface Group {
  stem: string;
  fronts: ListedObject[];
  backs: ListedObject[];
}

/**
 * Pairs a stream of image objects. With `sorted` (an S3 listing, lexicographic), a group is
 * decided as soon as the listing has moved past its stem, so memory holds only the groups whose
 * keys are still coming, across page boundaries. Unsorted input (a manifest) is decided at
 * {@link flush}.
 */
export class Pairer {
  private readonly pending = new Map<string, Group>();
  private readonly pattern: PairPattern;
  private readonly sorted: boolean;

  constructor(pattern: PairPattern, opts: { sorted: boolean }) {
    this.pattern = pattern;
    this.sorted = opts.sorted;
  }

  /** Adds one image object; returns what can be decided now. */
  push(obj: ListedObject): Paired[] {
    const out: Paired[] = [];
    const groupKey = (o: ListedObject, stem: string): string => `${o.bucket}\u0000${stem}`;
    if (this.sorted) {
      for (const [key, g] of this.pending) {
        if (!(obj.key.startsWith(g.stem) && key.startsWith(`${obj.bucket}\u0000`))) {
          this.pending.delete(key);
          out.push(...decide(g));
        }
      }
    }
    const m = this.pattern.regex.exec(obj.key);
    const stem = m?.groups?.stem;
    const side = m?.groups?.side?.toLowerCase();
    if (!m || !stem || (side !== 'front' && side !== 'back')) {
      out.push({ kind: 'card', front: obj });
      return out;
    }
    const key = groupKey(obj, stem);
    let g = this.pending.get(key);
    if (!g) {
      g = { stem, fronts: [], backs: [] };
      this.pending.set(key, g);
    }
    (side === 'front' ? g.fronts : g.backs).push(obj);
    return out;
  }

  /** Decides every group still pending (end of a listing or of a manifest). */
  flush(): Paired[] {
    const out = [...this.pending.values()].flatMap(decide);
    this.pending.clear();
    return out;
  }

  /** Groups held in memory (for tests and the benchmark). */
  get pendingCount(): number {
    return this.pending.size;
  }
}

function decide(g: Group): Paired[] {
  if (g.fronts.length === 1) {
    const [front] = g.fronts as [ListedObject];
    if (g.backs.length === 1) return [{ kind: 'card', front, back: g.backs[0]! }];
    return [
      { kind: 'card', front },
      ...g.backs.map((object): Paired => ({ kind: 'skip', object, reason: 'ambiguous-pair' })),
    ];
  }
  const cards = g.fronts.map((front): Paired => ({ kind: 'card', front }));
  const reason = g.fronts.length === 0 ? 'back-without-front' : 'ambiguous-pair';
  return [...cards, ...g.backs.map((object): Paired => ({ kind: 'skip', object, reason }))];
}
