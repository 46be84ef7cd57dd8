import { parseCardDate } from '../card/fields.js';
import { normalizeEtag } from './cardVersion.js';
import type { ApiCallRow, CardResult, SeenCard } from './types.js';

/**
 * The write statements. Idempotent by construction: every card write is an upsert on the version
 * id, so a job that runs twice (crash, duplicate) leaves one row.
 */

export interface Sql {
  text: string;
  values: unknown[];
}

/**
 * Cards the producer saw, in one statement per batch. A row already `recognized` keeps its outcome
 * (the ledger); others are marked pending for this run, or `skipped` with the reason.
 */
export function upsertSeenSql(runId: string, cards: readonly SeenCard[]): Sql {
  const values: unknown[] = [runId];
  const rows = cards.map((c) => {
    const base = values.length;
    values.push(
      c.versionId,
      c.bucket,
      c.frontKey,
      normalizeEtag(c.frontEtag),
      c.backKey ?? null,
      c.backEtag ? normalizeEtag(c.backEtag) : null,
      c.sizeBytes ?? null,
      c.lastModified ?? null,
      c.skipReason ?? null,
    );
    const p = (i: number): string => `$${base + i}`;
    return `(${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}, ${p(7)}::bigint, ${p(8)}::timestamptz, $1, ${p(9)}::text)`;
  });
  return {
    text: `
INSERT INTO cards (version_id, bucket, front_key, front_etag, back_key, back_etag, size_bytes, last_modified, run_id, reason,
  outcome, pending)
SELECT v.version_id, v.bucket, v.front_key, v.front_etag, v.back_key, v.back_etag, v.size_bytes, v.last_modified, v.run_id, v.reason,
  CASE WHEN v.reason IS NULL THEN NULL ELSE 'skipped' END, v.reason IS NULL
FROM (VALUES ${rows.join(',\n')}) AS v (version_id, bucket, front_key, front_etag, back_key, back_etag, size_bytes, last_modified, run_id, reason)
ON CONFLICT (version_id) DO UPDATE SET
  run_id = EXCLUDED.run_id,
  size_bytes = EXCLUDED.size_bytes,
  last_modified = EXCLUDED.last_modified,
  pending = EXCLUDED.reason IS NULL,
  outcome = CASE WHEN EXCLUDED.reason IS NULL THEN cards.outcome ELSE 'skipped' END,
  reason = EXCLUDED.reason,
  queued_at = NULL,
  updated_at = now()
WHERE cards.outcome IS DISTINCT FROM 'recognized' OR EXCLUDED.reason IS NULL`,
    values,
  };
}

/** The columns of `run_cards` that copy a card's state. */
const CARD_STATE = 'outcome, reason, error_code, pending, attempts, api_calls, finished_at';

/**
 * Upserts the `run_cards` rows of the (run, version) pairs in the arrays `$runIds` and
 * `$versionIds` from `state`: a query on `v.version_id` giving one row of {@link CARD_STATE}. A
 * pending card has no outcome yet. `state` is a LATERAL subquery fenced by LIMIT: a plain join
 * let the planner hash the whole cards table for a few rows.
 */
function upsertRunCards(runIds: string, versionIds: string, state: string): string {
  return `
INSERT INTO run_cards (run_id, version_id, ${CARD_STATE})
SELECT v.run_id, v.version_id, CASE WHEN s.pending THEN NULL ELSE s.outcome END, s.reason, s.error_code,
       s.pending, s.attempts, s.api_calls, s.finished_at
FROM unnest(${runIds}::text[], ${versionIds}::text[]) AS v (run_id, version_id)
CROSS JOIN LATERAL (${state} LIMIT 1) s
ON CONFLICT (run_id, version_id) DO UPDATE SET
  outcome = EXCLUDED.outcome, reason = EXCLUDED.reason, error_code = EXCLUDED.error_code,
  pending = EXCLUDED.pending, attempts = EXCLUDED.attempts, api_calls = EXCLUDED.api_calls,
  finished_at = EXCLUDED.finished_at`;
}

/**
 * Brings the rows of `run_cards` for these (run, version) pairs up to what `cards` holds for the
 * versions now: written after every change to a card's outcome or pending state, so a run's
 * history is the card's state when that run last touched it.
 */
export function syncRunCardsSql(pairs: readonly { runId: string; versionId: string }[]): Sql {
  // One row per pair: one INSERT cannot update a row twice.
  const unique = [...new Map(pairs.map((p) => [`${p.runId}\u0000${p.versionId}`, p])).values()];
  return {
    text: upsertRunCards('$1', '$2', `SELECT ${CARD_STATE} FROM cards WHERE cards.version_id = v.version_id`),
    values: [unique.map((p) => p.runId), unique.map((p) => p.versionId)],
  };
}

/**
 * The cards a run listed and did not send because of what the ledger says (\`already-recognized\`,
 * \`already-queued\`, ...): rows of the run's history only; the cards' own rows stay as they are.
 */
export function insertLedgerSkipsSql(
  runId: string,
  skips: readonly { versionId: string; reason: string }[],
): Sql {
  return {
    text: `
INSERT INTO run_cards (run_id, version_id, outcome, reason, pending)
SELECT $1, v.version_id, 'skipped', v.reason, false
FROM unnest($2::text[], $3::text[]) AS v (version_id, reason)
ON CONFLICT (run_id, version_id) DO NOTHING`,
    values: [runId, skips.map((s) => s.versionId), skips.map((s) => s.reason)],
  };
}

function heightMetres(raw: string | undefined): number | null {
  if (!raw || !/^\d(\.\d{1,2})?$/.test(raw.trim())) return null;
  return Number(raw);
}

/** Removes what must not be stored: the portrait/preprocessed image. */
/**
 * What of the raw answer is kept beside the typed columns: only the fields no column holds and
 * that carry no card data (`Angle`). The card's fields, its warnings and the request id have
 * columns of their own: a second copy would be one more place to purge. A field the provider adds
 * later is not stored until we decide to (the worker logs its name).
 */
const KEPT_RAW_FIELDS = ['Angle'] as const;

function storableResponse(raw: Record<string, unknown> | undefined): string | null {
  if (!raw) return null;
  const kept = Object.fromEntries(
    KEPT_RAW_FIELDS.filter((k) => raw[k] !== undefined).map((k) => [k, raw[k]]),
  );
  return Object.keys(kept).length > 0 ? JSON.stringify(kept) : null;
}

const OUTCOME_COLUMNS = 37;

function outcomeValues(r: CardResult): unknown[] {
  const f = r.outcome === 'recognized' ? (r.fields ?? {}) : {};
  return [
    r.versionId,
    r.bucket,
    r.frontKey,
    normalizeEtag(r.frontEtag),
    r.backKey ?? null,
    r.backEtag ? normalizeEtag(r.backEtag) : null,
    r.runId,
    r.outcome,
    f.CnLastName ?? null,
    f.EnLastName ?? null,
    f.LastNameCode ?? null,
    f.CnFirstName ?? null,
    f.EnFirstName ?? null,
    f.FirstNameCode ?? null,
    f.ID ?? null,
    parseCardDate(f.Birthday) ?? null,
    f.Birthday ?? null,
    f.Sex ?? null,
    parseCardDate(f.FirstIssueDate) ?? null,
    f.FirstIssueDate ?? null,
    parseCardDate(f.CurrentIssueDate) ?? null,
    f.CurrentIssueDate ?? null,
    parseCardDate(f.ValidityPeriod) ?? null,
    f.ValidityPeriod ?? null,
    f.Symbol ?? null,
    heightMetres(f.Height),
    f.Height ?? null,
    f.ResidentType ?? null,
    JSON.stringify(r.warnings ?? []),
    JSON.stringify(r.checks ?? []),
    r.errorCode ?? null,
    r.errorMessage ?? null,
    r.attempts,
    r.latencyMs === undefined ? null : Math.round(r.latencyMs),
    r.requestId ?? null,
    r.portraitKey ?? null,
    r.outcome === 'recognized' ? storableResponse(r.rawResponse) : null,
  ];
}

/** Casts for the columns whose type PostgreSQL cannot infer from a VALUES list (1-based). */
const CASTS: Record<number, string> = {
  16: 'date',
  19: 'date',
  21: 'date',
  23: 'date',
  26: 'numeric',
  29: 'jsonb',
  30: 'jsonb',
  33: 'integer',
  34: 'integer',
  37: 'jsonb',
};

/**
 * Outcomes in one statement (one row per version; a batch holding the same version twice keeps
 * the last, since one INSERT cannot update a row twice). A `recognized` row is never overwritten
 * by a later `failed` or `rejected` of the same version, nor an erased card by any outcome, unless
 * a reprocess was asked; `api_calls`
 * is counted from the call ledger, so recording the same outcome twice changes nothing. The same
 * statement brings each card's row of its run's history (`run_cards`) up to date.
 */
export function upsertOutcomesSql(results: readonly CardResult[], reprocess: boolean): Sql {
  const unique = [...new Map(results.map((r) => [r.versionId, r])).values()];
  const values: unknown[] = [reprocess];
  const rows = unique.map((r) => {
    const base = values.length;
    values.push(...outcomeValues(r));
    const cells = Array.from({ length: OUTCOME_COLUMNS }, (_, i) => {
      const cast = CASTS[i + 1];
      return cast ? `$${base + i + 1}::${cast}` : `$${base + i + 1}`;
    });
    return `(${cells.join(', ')}, (SELECT count(*) FROM api_calls WHERE version_id = $${base + 1}), false, now())`;
  });
  const runIds = values.length + 1;
  values.push(
    unique.map((r) => r.runId),
    unique.map((r) => r.versionId),
  );
  return {
    text: `
WITH up AS (
INSERT INTO cards (version_id, bucket, front_key, front_etag, back_key, back_etag, run_id, outcome,
  cn_last_name, en_last_name, last_name_code, cn_first_name, en_first_name, first_name_code, id_number,
  birthday, birthday_raw, sex, first_issue_date, first_issue_raw, current_issue_date, current_issue_raw,
  validity_date, validity_raw, symbol, height_m, height_raw, resident_type, warnings, checks,
  error_code, error_message, attempts, latency_ms, request_id, portrait_key, raw_response,
  api_calls, pending, finished_at)
VALUES ${rows.join(',\n')}
ON CONFLICT (version_id) DO UPDATE SET
  run_id = EXCLUDED.run_id, outcome = EXCLUDED.outcome, reason = NULL,
  cn_last_name = EXCLUDED.cn_last_name, en_last_name = EXCLUDED.en_last_name, last_name_code = EXCLUDED.last_name_code,
  cn_first_name = EXCLUDED.cn_first_name, en_first_name = EXCLUDED.en_first_name, first_name_code = EXCLUDED.first_name_code,
  id_number = EXCLUDED.id_number, birthday = EXCLUDED.birthday, birthday_raw = EXCLUDED.birthday_raw, sex = EXCLUDED.sex,
  first_issue_date = EXCLUDED.first_issue_date, first_issue_raw = EXCLUDED.first_issue_raw,
  current_issue_date = EXCLUDED.current_issue_date, current_issue_raw = EXCLUDED.current_issue_raw,
  validity_date = EXCLUDED.validity_date, validity_raw = EXCLUDED.validity_raw, symbol = EXCLUDED.symbol,
  height_m = EXCLUDED.height_m, height_raw = EXCLUDED.height_raw, resident_type = EXCLUDED.resident_type,
  warnings = EXCLUDED.warnings, checks = EXCLUDED.checks, error_code = EXCLUDED.error_code,
  error_message = EXCLUDED.error_message, attempts = EXCLUDED.attempts, latency_ms = EXCLUDED.latency_ms,
  request_id = EXCLUDED.request_id, portrait_key = EXCLUDED.portrait_key, raw_response = EXCLUDED.raw_response,
  api_calls = EXCLUDED.api_calls, pending = false, finished_at = now(), updated_at = now()
WHERE (cards.outcome IS DISTINCT FROM 'recognized' OR EXCLUDED.outcome = 'recognized' OR $1::boolean)
  -- An erased card's answer that arrives late (its worker held it during the erasure) is not stored.
  AND (cards.purge_reason IS DISTINCT FROM 'erasure' OR $1::boolean)
RETURNING version_id, ${CARD_STATE}
),
-- The run's history, in the same statement: what the row holds now, the upsert's when it wrote
-- (both parts see the table as it was before the statement), the row's own when it did not.
history AS (${upsertRunCards(
      `$${runIds}`,
      `$${runIds + 1}`,
      `SELECT ${CARD_STATE} FROM up WHERE up.version_id = v.version_id
     UNION ALL
     SELECT ${CARD_STATE} FROM cards WHERE cards.version_id = v.version_id
       AND NOT EXISTS (SELECT 1 FROM up WHERE up.version_id = v.version_id)`,
    )}
)
SELECT version_id, outcome FROM up`,
    values,
  };
}

/** Appends API calls in one statement. */
export function insertApiCallsSql(calls: readonly ApiCallRow[]): Sql {
  const values: unknown[] = [];
  const rows = calls.map((c) => {
    const b = values.length;
    values.push(
      c.versionId,
      c.runId ?? null,
      c.requestId ?? null,
      c.code,
      Math.round(c.latencyMs),
      c.billed,
      c.calledAt,
    );
    return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}::integer, $${b + 6}::boolean, $${b + 7}::timestamptz)`;
  });
  return {
    text: `INSERT INTO api_calls (version_id, run_id, request_id, code, latency_ms, billed, called_at) VALUES ${rows.join(', ')}`,
    values,
  };
}
