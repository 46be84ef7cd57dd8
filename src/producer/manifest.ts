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

/** A manifest line that names no object, and why. */
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

type ManifestFormat = 'csv' | 'jsonl' | 'plain';

/** What {@link readManifest} returns: the good entries, the bad lines and how many URIs repeated. */
export interface ManifestContents {
  entries: ManifestEntry[];
  bad: BadLine[];
  duplicates: number;
}

/**
 * What one line says: a URI (perhaps missing or empty), a problem, or nothing (a blank line, a
 * comment, the CSV header). `stop` ends the reading: without a `uri` column no line can be read.
 */
type LineReading = { uri: string | undefined } | { problem: string; stop?: boolean } | undefined;

/**
 * Reads a manifest. Duplicate URIs are kept once. Returns the good entries and the bad lines.
 * The manifest file itself missing or unreadable throws with its path.
 */
export async function readManifest(path: string): Promise<ManifestContents> {
  const contents: ManifestContents = { entries: [], bad: [], duplicates: 0 };
  try {
    await readLines(path, formatOf(path), contents);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new Error(`manifest ${path} does not exist`);
    if (err.code === 'EISDIR') throw new Error(`manifest ${path} is a directory, not a file`);
    throw new Error(`cannot read manifest ${path}: ${err.message}`);
  }
  return contents;
}

function formatOf(path: string): ManifestFormat {
  const lower = path.toLowerCase();
  if (lower.endsWith('.csv')) return 'csv';
  return lower.endsWith('.jsonl') || lower.endsWith('.ndjson') ? 'jsonl' : 'plain';
}

/** Reads the file line by line into `contents`; only reading the file itself throws. */
async function readLines(path: string, format: ManifestFormat, contents: ManifestContents): Promise<void> {
  const seen = new Set<string>();
  const header = { uriColumn: -1 };
  for await (const { line, bytes } of byteLines(path)) {
    const text = decodeLine(bytes);
    const reading = text === undefined ? { problem: 'not valid UTF-8' } : readLine(format, header, text);
    if (reading === undefined) continue;
    if ('problem' in reading) {
      contents.bad.push({ line, problem: reading.problem });
      if (reading.stop) break;
      continue;
    }
    addUri(contents, seen, line, reading.uri);
  }
}

/** The line's text without its CR or byte-order mark; undefined when it is not valid UTF-8. */
function decodeLine(bytes: Buffer): string | undefined {
  try {
    return decoder
      .decode(bytes)
      .replace(/\r$/, '')
      .replace(/^\uFEFF/, '');
  } catch {
    return undefined;
  }
}

function readLine(format: ManifestFormat, header: { uriColumn: number }, text: string): LineReading {
  if (text.trim() === '' || (format === 'plain' && text.trimStart().startsWith('#'))) return undefined;
  if (format === 'csv') return readCsvLine(header, text);
  if (format === 'jsonl') return readJsonLine(text);
  return { uri: text.trim() };
}

/** A CSV line: the first one is the header, which must have a `uri` column. */
function readCsvLine(header: { uriColumn: number }, text: string): LineReading {
  const cells = parseCsvLine(text);
  if (!cells) return { problem: 'unbalanced quotes' };
  if (header.uriColumn === -1) {
    header.uriColumn = cells.map((c) => c.trim().toLowerCase()).indexOf('uri');
    return header.uriColumn === -1 ? { problem: 'the header has no `uri` column', stop: true } : undefined;
  }
  return { uri: cells[header.uriColumn]?.trim() };
}

function readJsonLine(text: string): LineReading {
  let v: unknown;
  try {
    v = JSON.parse(text) as unknown;
  } catch {
    return { problem: 'not valid JSON' };
  }
  const uri =
    typeof v === 'object' && v !== null && typeof (v as { uri?: unknown }).uri === 'string'
      ? (v as { uri: string }).uri
      : undefined;
  return uri === undefined ? { problem: 'no string field `uri`' } : { uri };
}

/** Adds the object `uri` names, once; an empty one or one that names a folder is a bad line. */
function addUri(contents: ManifestContents, seen: Set<string>, line: number, uri: string | undefined): void {
  if (!uri) {
    contents.bad.push({ line, problem: 'empty uri' });
    return;
  }
  try {
    const { bucket, prefix } = parseS3Uri(uri);
    if (!prefix || prefix.endsWith('/')) throw new Error(`\`${uri}\` names a folder, not an object`);
    if (seen.has(uri)) {
      contents.duplicates++;
      return;
    }
    seen.add(uri);
    contents.entries.push({ line, bucket, key: prefix });
  } catch (e) {
    contents.bad.push({ line, problem: (e as Error).message });
  }
}
