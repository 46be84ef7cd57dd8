import { createReadStream } from 'node:fs';
import { parseS3Uri } from '../storage/s3Uri.js';

/**
 * A manifest names the card images to process, one per line: a plain list of `s3://` URIs
 * (blank lines and `#` comments ignored), a CSV with a `uri` column, or JSONL with a `uri` field.
 * The format follows the file's extension (`.csv`, `.jsonl`/`.ndjson`, anything else plain).
 */
export interface ManifestEntry {
  line: number;
  bucket: string;
  key: string;
}

export interface BadLine {
  line: number;
  problem: string;
}

/** A manifest with bad lines, refused as a whole (unless `--skip-bad-lines`). */
export class ManifestError extends Error {
  override readonly name = 'ManifestError';
  readonly badLines: BadLine[];
  constructor(file: string, bad: BadLine[]) {
    const shown = bad
      .slice(0, 10)
      .map((b) => `  line ${b.line}: ${b.problem}`)
      .join('\n');
    const more = bad.length > 10 ? `\n  ... and ${bad.length - 10} more` : '';
    super(
      `manifest ${file} has ${bad.length} bad line${bad.length === 1 ? '' : 's'}; nothing was enqueued. Fix them, or pass --skip-bad-lines to enqueue the good ones:\n${shown}${more}`,
    );
    this.badLines = bad;
  }
}

/** Splits a file into lines of raw bytes (so invalid UTF-8 can be reported by line number). */
async function* byteLines(path: string): AsyncGenerator<{ line: number; bytes: Buffer }> {
  let rest = Buffer.alloc(0);
  let line = 0;
  for await (const chunk of createReadStream(path)) {
    let buf = Buffer.concat([rest, chunk as Buffer]);
    for (let nl = buf.indexOf(10); nl !== -1; nl = buf.indexOf(10)) {
      line++;
      yield { line, bytes: buf.subarray(0, nl) };
      buf = buf.subarray(nl + 1);
    }
    rest = Buffer.from(buf);
  }
  if (rest.length > 0) yield { line: line + 1, bytes: rest };
}

/** One CSV record on one line (RFC 4180 quoting; a quoted field cannot span lines here). */
export function parseCsvLine(text: string): string[] | undefined {
  const cells: string[] = [];
  let i = 0;
  for (;;) {
    let cell = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) return undefined;
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            cell += '"';
            i += 2;
          } else {
            i++;
            break;
          }
        } else cell += text[i++];
      }
      if (i < text.length && text[i] !== ',') return undefined;
    } else {
      const end = text.indexOf(',', i);
      cell = text.slice(i, end === -1 ? text.length : end);
      i = end === -1 ? text.length : end;
    }
    cells.push(cell);
    if (i >= text.length) return cells;
    i++; // the comma
  }
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads a manifest. Duplicate URIs are kept once. Returns the good entries and the bad lines.
 * The manifest file itself missing or unreadable throws with its path.
 */
export async function readManifest(
  path: string,
): Promise<{ entries: ManifestEntry[]; bad: BadLine[]; duplicates: number }> {
  const lower = path.toLowerCase();
  const format = lower.endsWith('.csv')
    ? 'csv'
    : lower.endsWith('.jsonl') || lower.endsWith('.ndjson')
      ? 'jsonl'
      : 'plain';
  const entries: ManifestEntry[] = [];
  const bad: BadLine[] = [];
  const seen = new Set<string>();
  let duplicates = 0;
  let uriColumn = -1;
  try {
    for await (const { line, bytes } of byteLines(path)) {
      let text: string;
      try {
        text = decoder
          .decode(bytes)
          .replace(/\r$/, '')
          .replace(/^\uFEFF/, '');
      } catch {
        bad.push({ line, problem: 'not valid UTF-8' });
        continue;
      }
      if (text.trim() === '' || (format === 'plain' && text.trimStart().startsWith('#'))) continue;
      let uri: string | undefined;
      if (format === 'csv') {
        const cells = parseCsvLine(text);
        if (!cells) {
          bad.push({ line, problem: 'unbalanced quotes' });
          continue;
        }
        if (uriColumn === -1) {
          uriColumn = cells.map((c) => c.trim().toLowerCase()).indexOf('uri');
          if (uriColumn === -1) {
            bad.push({ line, problem: 'the header has no `uri` column' });
            break;
          }
          continue;
        }
        uri = cells[uriColumn]?.trim();
      } else if (format === 'jsonl') {
        try {
          const v = JSON.parse(text) as unknown;
          uri =
            typeof v === 'object' && v !== null && typeof (v as { uri?: unknown }).uri === 'string'
              ? (v as { uri: string }).uri
              : undefined;
          if (uri === undefined) {
            bad.push({ line, problem: 'no string field `uri`' });
            continue;
          }
        } catch {
          bad.push({ line, problem: 'not valid JSON' });
          continue;
        }
      } else uri = text.trim();
      if (!uri) {
        bad.push({ line, problem: 'empty uri' });
        continue;
      }
      try {
        const { bucket, prefix } = parseS3Uri(uri);
        if (!prefix || prefix.endsWith('/')) throw new Error(`\`${uri}\` names a folder, not an object`);
        if (seen.has(uri)) {
          duplicates++;
          continue;
        }
        seen.add(uri);
        entries.push({ line, bucket, key: prefix });
      } catch (e) {
        bad.push({ line, problem: (e as Error).message });
      }
    }
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new Error(`manifest ${path} does not exist`);
    if (err.code === 'EISDIR') throw new Error(`manifest ${path} is a directory, not a file`);
    throw new Error(`cannot read manifest ${path}: ${err.message}`);
  }
  return { entries, bad, duplicates };
}
