import type { ListedObject } from '../storage/objects.js';

/** Skip reasons decided from the object alone, before pairing. */
export type ObjectSkipReason = 'unsupported-format' | 'empty';

/** What the API accepts (API page: PNG, JPG, JPEG; GIF not supported). */
const IMAGE_EXTENSIONS = new Set(['png', 'jpg', 'jpeg']);

/** Options of {@link classifyObject}. */
export interface ObjectFilter {
  /** Only objects modified at or after this time. */
  since?: Date | undefined;
  /** Only objects modified before this time. */
  until?: Date | undefined;
}

/**
 * Decides whether a listed object is a candidate image: `image`, `out-of-range` (filtered out by
 * --since/--until: not counted as seen), or a skip reason with a detail for the report (a GIF is
 * named as such: the API page says GIF is not supported).
 */
export function classifyObject(
  obj: ListedObject,
  filter: ObjectFilter = {},
): { kind: 'image' } | { kind: 'out-of-range' } | { kind: 'skip'; reason: ObjectSkipReason; detail: string } {
  if (obj.key.endsWith('/')) return { kind: 'out-of-range' }; // a "folder" placeholder object
  const t = obj.lastModified?.getTime();
  if (filter.since && t !== undefined && t < filter.since.getTime()) return { kind: 'out-of-range' };
  if (filter.until && t !== undefined && t >= filter.until.getTime()) return { kind: 'out-of-range' };
  const dot = obj.key.lastIndexOf('.');
  const ext = dot > obj.key.lastIndexOf('/') ? obj.key.slice(dot + 1).toLowerCase() : '';
  if (!IMAGE_EXTENSIONS.has(ext)) {
    const detail =
      ext === 'gif'
        ? 'GIF is not supported by the API'
        : ext
          ? `.${ext} is not an image format the API accepts (PNG, JPG, JPEG)`
          : 'no file extension (PNG, JPG or JPEG expected)';
    return { kind: 'skip', reason: 'unsupported-format', detail };
  }
  if (obj.size === 0) return { kind: 'skip', reason: 'empty', detail: 'the object is empty (0 bytes)' };
  return { kind: 'image' };
}

/** Parses `--since`/`--until`: an ISO date or date-time; the message names the option. */
export function parseTimeOption(name: string, raw: string | undefined): Date | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(raw)) {
    throw new Error(`${name} must be a date like 2026-11-01 or 2026-11-01T00:00:00Z, got \`${raw}\``);
  }
  const d = new Date(raw.length === 10 ? `${raw}T00:00:00Z` : raw);
  if (Number.isNaN(d.getTime())) throw new Error(`${name} is not a real date: \`${raw}\``);
  return d;
}
