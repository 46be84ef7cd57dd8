import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type pg from 'pg';
import { CARD_FIELD_NAMES, type CardWarning, type CheckFinding } from '../card/fields.js';
import type { Outcome } from './types.js';

/** Options of {@link exportCards}. */
export interface ExportOptions {
  runId: string;
  format: 'csv' | 'jsonl';
  /** Only these outcomes (`pending` for unfinished cards). */
  outcomes?: (Outcome | 'pending')[] | undefined;
  /** Only cards whose last error code is this. */
  errorCode?: string | undefined;
  /** Only recognized cards with a warning of the API or a finding of our checks (a reviewer's list). */
  flagged?: boolean | undefined;
  /** Only recognized cards with this API warning, by code (`-9108`) or name (`blurry`). */
  warning?: string | undefined;
  /** Only recognized cards with this finding of our checks (`ID.CheckDigit`, ...). */
  check?: string | undefined;
  /**
   * Rows per page read from the database; default 200: a page stays smaller than V8's starting
   * young generation, so it dies there (see src/cli/heap.ts), at no cost in rows/s.
   */
  pageSize?: number;
  /**
   * With the personal columns (the fields and the portrait); default true. Without them the cards
   * are read from the `cards_public` view, which a `macao_reader` role may select: `fields` and
   * `portraitKey` are null.
   */
  personal?: boolean;
}

/** One exported card: the JSONL contract scripts rely on (stable; extend it, never rename a field). */
export interface CardRecord {
  run: string;
  versionId: string;
  bucket: string;
  frontKey: string;
  backKey: string | null;
  etag: string;
  backEtag: string | null;
  outcome: Outcome | 'pending';
  reason: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  attempts: number;
  apiCalls: number;
  latencyMs: number | null;
  requestId: string | null;
  warnings: CardWarning[];
  checks: CheckFinding[];
  portraitKey: string | null;
  fields: Record<string, string> | null;
  /** When the card's personal data was purged or erased (ISO time), or null. */
  purgedAt: string | null;
}

const FIELD_COLUMNS: Record<(typeof CARD_FIELD_NAMES)[number], string> = {
  CnLastName: 'cn_last_name',
  EnLastName: 'en_last_name',
  LastNameCode: 'last_name_code',
  CnFirstName: 'cn_first_name',
  EnFirstName: 'en_first_name',
  FirstNameCode: 'first_name_code',
  ID: 'id_number',
  Birthday: 'birthday_raw',
  Sex: 'sex',
  FirstIssueDate: 'first_issue_raw',
  CurrentIssueDate: 'current_issue_raw',
  ValidityPeriod: 'validity_raw',
  Symbol: 'symbol',
  Height: 'height_raw',
  ResidentType: 'resident_type',
};

type Row = Record<string, unknown> & { version_id: string };

/**
 * The columns an export reads: named, not `*`, so the raw API response (JSONB, the widest
 * column, which the export does not carry) is neither sent by the database nor parsed here.
 */
const PUBLIC_EXPORT_COLUMNS = [
  // What became of the card in this run: the run's history row.
  'rc.run_id',
  'rc.version_id',
  'rc.pending',
  'rc.outcome',
  'rc.reason',
  'rc.error_code',
  'rc.attempts',
  'rc.api_calls',
  // What the card is: its own row (the latest answer's fields, warnings and checks).
  'c.bucket',
  'c.front_key',
  'c.back_key',
  'c.front_etag',
  'c.back_etag',
  'c.error_message',
  'c.latency_ms',
  'c.request_id',
  'c.warnings',
  'c.checks',
  'c.purged_at',
];
const EXPORT_COLUMNS = [
  ...PUBLIC_EXPORT_COLUMNS,
  'c.portrait_key',
  ...Object.values(FIELD_COLUMNS).map((col) => `c.${col}`),
].join(', ');

function toRecord(r: Row): CardRecord {
  const outcome = (r.pending ? 'pending' : r.outcome) as CardRecord['outcome'];
  const answered = outcome === 'recognized';
  let fields: Record<string, string> | null = null;
  // A purged card's fields are gone, and a reader's export never had them: null, not empty.
  if (outcome === 'recognized' && FIELD_COLUMNS.ID in r && !r.purged_at) {
    fields = {};
    for (const name of CARD_FIELD_NAMES) {
      const v = r[FIELD_COLUMNS[name]];
      if (typeof v === 'string') fields[name] = v;
    }
  }
  return {
    run: r.run_id as string,
    versionId: r.version_id,
    bucket: r.bucket as string,
    frontKey: r.front_key as string,
    backKey: (r.back_key as string | null) ?? null,
    etag: r.front_etag as string,
    backEtag: (r.back_etag as string | null) ?? null,
    outcome,
    reason: (r.reason as string | null) ?? null,
    errorCode: (r.error_code as string | null) ?? null,
    errorMessage: (r.error_message as string | null) ?? null,
    attempts: r.attempts as number,
    apiCalls: r.api_calls as number,
    // The answer's details belong to the run that was answered: a run that skipped the card, or
    // in which it failed before a later run recognized it, does not show them.
    latencyMs: answered ? ((r.latency_ms as number | null) ?? null) : null,
    requestId: answered ? ((r.request_id as string | null) ?? null) : null,
    warnings: answered ? (r.warnings as CardWarning[]) : [],
    checks: answered ? (r.checks as CheckFinding[]) : [],
    portraitKey: answered ? ((r.portrait_key as string | null) ?? null) : null,
    fields,
    purgedAt: r.purged_at ? (r.purged_at as Date).toISOString() : null,
  };
}

const CSV_HEAD = [
  'run',
  'versionId',
  'bucket',
  'frontKey',
  'backKey',
  'etag',
  'outcome',
  'reason',
  'errorCode',
  'errorMessage',
  'attempts',
  'apiCalls',
  'latencyMs',
  'requestId',
  'warnings',
  'checks',
  'portraitKey',
  ...CARD_FIELD_NAMES,
  'purgedAt',
];

/** RFC 4180 quoting; a leading `=`, `+`, `-`, `@` is prefixed with `'` so a spreadsheet does not run it as a formula. */
export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvLine(rec: CardRecord): string {
  const cells = [
    rec.run,
    rec.versionId,
    rec.bucket,
    rec.frontKey,
    rec.backKey,
    rec.etag,
    rec.outcome,
    rec.reason,
    rec.errorCode,
    rec.errorMessage,
    rec.attempts,
    rec.apiCalls,
    rec.latencyMs,
    rec.requestId,
    // `blurry (-9108)`: a cell starting with a name, which a spreadsheet shows as written.
    rec.warnings.map((w) => `${w.name} (${w.code})`).join('; '),
    rec.checks.map((c) => c.code).join('; '),
    rec.portraitKey,
    ...CARD_FIELD_NAMES.map((n) => rec.fields?.[n]),
    rec.purgedAt,
  ];
  return `${cells.map(csvCell).join(',')}\r\n`;
}

/**
 * A run's cards as records, page by page in version order: keyset pages (no long transaction,
 * which on embedded PGlite would hold every other connection), so a caller that lets each page
 * go holds one page at a time.
 */
export async function* cardRecordPages(
  pool: pg.Pool,
  opts: Omit<ExportOptions, 'format'>,
): AsyncGenerator<CardRecord[]> {
  const pageSize = opts.pageSize ?? 200;
  const outcomes = opts.outcomes?.filter((o) => o !== 'pending') ?? null;
  const withPending = opts.outcomes ? opts.outcomes.includes('pending') : true;
  // Fresh planner statistics first: each page must be an ordered index scan (run_cards' key).
  // Statistics gathered before this run existed (or none: embedded PGlite has no autovacuum)
  // make the planner expect a handful of rows and sort the whole run for every page, an export
  // quadratic in the run's size (bench/results-store: 13.6 s instead of 3 s for 100,000 cards).
  // ANALYZE samples a bounded number of rows (~0.5 s); a user who does not own the table gets a
  // warning from PostgreSQL, not an error, and the export goes on.
  await pool.query('ANALYZE run_cards (run_id, version_id)');
  const personal = opts.personal ?? true;
  const columns = personal ? EXPORT_COLUMNS : PUBLIC_EXPORT_COLUMNS.join(', ');
  const table = personal ? 'cards' : 'cards_public';
  let after = '';
  for (;;) {
    const { rows } = await pool.query<Row>(
      // The run's history in key order, each card looked up by its key until the page is full
      // (LIMIT keeps the planner from turning this back into a join, which hashed the whole
      // cards table for every page: bench/results-store).
      `SELECT ${columns} FROM run_cards rc
         CROSS JOIN LATERAL (SELECT * FROM ${table} WHERE ${table}.version_id = rc.version_id LIMIT 1) c
       WHERE rc.run_id = $1 AND rc.version_id > $2
         AND (($3::text[] IS NULL AND ($4 OR NOT rc.pending)) OR (NOT rc.pending AND rc.outcome = ANY($3::text[])) OR ($4 AND rc.pending))
         AND ($5::text IS NULL OR rc.error_code = $5)
         AND (NOT $7::boolean OR (rc.outcome = 'recognized' AND NOT rc.pending
               AND (jsonb_array_length(c.warnings) > 0 OR jsonb_array_length(c.checks) > 0)))
         AND ($8::text IS NULL OR (rc.outcome = 'recognized' AND NOT rc.pending AND EXISTS (
               SELECT 1 FROM jsonb_array_elements(c.warnings) w WHERE w->>'code' = $8 OR w->>'name' = $8)))
         AND ($9::text IS NULL OR (rc.outcome = 'recognized' AND NOT rc.pending AND EXISTS (
               SELECT 1 FROM jsonb_array_elements(c.checks) f WHERE f->>'code' = $9)))
       ORDER BY rc.version_id LIMIT $6`,
      [
        opts.runId,
        after,
        outcomes,
        withPending,
        opts.errorCode ?? null,
        pageSize,
        opts.flagged ?? false,
        opts.warning ?? null,
        opts.check ?? null,
      ],
    );
    if (rows.length === 0) break;
    yield rows.map(toRecord);
    after = rows[rows.length - 1]!.version_id;
    if (rows.length < pageSize) break;
  }
}

/**
 * Streams a run's cards as CSV or JSONL, in constant memory: {@link cardRecordPages}, each
 * written with backpressure. Returns the number of cards written.
 */
export async function exportCards(pool: pg.Pool, out: Writable, opts: ExportOptions): Promise<number> {
  const write = async (chunk: string): Promise<void> => {
    if (!out.write(chunk)) await once(out, 'drain');
  };
  if (opts.format === 'csv') await write(`${CSV_HEAD.map(csvCell).join(',')}\r\n`);
  let n = 0;
  for await (const page of cardRecordPages(pool, opts)) {
    // Written in chunks of ~32 KB, not one string per page: a string over 128 KB goes straight
    // to V8's large-object space, which only a full collection frees, and a page's worth each
    // time grew the export by ~50 MB before the collector caught up (bench/results-store).
    let buf = '';
    for (const rec of page) {
      buf += opts.format === 'csv' ? csvLine(rec) : `${JSON.stringify(rec)}\n`;
      if (buf.length >= 32_768) {
        await write(buf);
        buf = '';
      }
    }
    if (buf) await write(buf);
    n += page.length;
  }
  return n;
}
