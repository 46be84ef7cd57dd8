import type pg from 'pg';
import { syncRunCardsSql } from './writes.js';

/**
 * The columns of `cards` that hold personal data: every recognized field (typed and as printed),
 * what is left of the raw answer, and where the portrait is. Purge and erasure empty them; the
 * `macao_reader` role may not select them (`roles.ts`).
 */
export const PERSONAL_COLUMNS = [
  'cn_last_name',
  'en_last_name',
  'last_name_code',
  'cn_first_name',
  'en_first_name',
  'first_name_code',
  'id_number',
  'birthday',
  'birthday_raw',
  'sex',
  'first_issue_date',
  'first_issue_raw',
  'current_issue_date',
  'current_issue_raw',
  'validity_date',
  'validity_raw',
  'symbol',
  'height_m',
  'height_raw',
  'resident_type',
  'raw_response',
  'portrait_key',
] as const;

/** Where a card's personal data lives outside the database: its scans and its portrait. */
export interface CardLocation {
  versionId: string;
  bucket: string;
  frontKey: string;
  backKey: string | null;
  /** `s3://bucket/key` of the stored portrait, or null. */
  portraitKey: string | null;
}

interface LocationRow {
  version_id: string;
  bucket: string;
  front_key: string;
  back_key: string | null;
  portrait_key: string | null;
}

const LOCATION_COLUMNS = 'version_id, bucket, front_key, back_key, portrait_key';

function toLocation(r: LocationRow): CardLocation {
  return {
    versionId: r.version_id,
    bucket: r.bucket,
    frontKey: r.front_key,
    backKey: r.back_key,
    portraitKey: r.portrait_key,
  };
}

/**
 * A page of finished, not yet purged cards that finished before `before` (optionally of one run),
 * in version order after `after`: keyset pages, so a purge of millions holds no long transaction.
 */
export async function cardsToPurge(
  pool: pg.Pool,
  opts: { before: Date; runId?: string | undefined; after: string; limit: number },
): Promise<CardLocation[]> {
  const { rows } = await pool.query<LocationRow>(
    `SELECT ${LOCATION_COLUMNS} FROM cards
      WHERE purged_at IS NULL AND NOT pending AND finished_at < $1
        -- A run's cards are those it sent, not those it skipped as answered by an earlier run.
        AND ($2::text IS NULL OR version_id IN (
              SELECT version_id FROM run_cards WHERE run_id = $2 AND outcome IS DISTINCT FROM 'skipped'))
        AND version_id > $3
      ORDER BY version_id LIMIT $4`,
    [opts.before, opts.runId ?? null, opts.after, opts.limit],
  );
  return rows.map(toLocation);
}

/** Who to erase: one person by ID number, one card version, or every version of one object. */
export type ErasureTarget = { idNumber: string } | { versionId: string } | { bucket: string; key: string };

/**
 * Every card version of the target, across runs, purged or not. An ID number matches by its
 * digits, however the card printed it (`1234567(8)`, `1/234567/8`).
 */
export async function cardsOf(pool: pg.Pool, target: ErasureTarget): Promise<CardLocation[]> {
  let where: string;
  let params: unknown[];
  if ('idNumber' in target) {
    where = `regexp_replace(id_number, '[^0-9]', '', 'g') = $1 AND id_number IS NOT NULL`;
    params = [target.idNumber.replace(/\D/g, '')];
  } else if ('versionId' in target) {
    where = 'version_id = $1';
    params = [target.versionId];
  } else {
    where = 'bucket = $1 AND (front_key = $2 OR back_key = $2)';
    params = [target.bucket, target.key];
  }
  const { rows } = await pool.query<LocationRow>(
    `SELECT ${LOCATION_COLUMNS} FROM cards WHERE ${where} ORDER BY version_id`,
    params,
  );
  return rows.map(toLocation);
}

/**
 * Turns cards into tombstones: every personal column emptied, check messages dropped (their codes
 * kept), `purged_at` set; an erased card still pending is `skipped` with the reason `erased`. Identity, outcome, error and warning codes and the call ledger stay, so
 * the scan is not paid for again and reports still count the card. Returns the rows changed.
 */
export async function tombstone(
  pool: pg.Pool,
  versionIds: readonly string[],
  reason: 'retention' | 'erasure',
): Promise<number> {
  if (versionIds.length === 0) return 0;
  const { rows, rowCount } = await pool.query<{ run_id: string; version_id: string; erased: boolean }>(
    `UPDATE cards SET
       ${PERSONAL_COLUMNS.map((c) => `${c} = NULL`).join(', ')},
       checks = (SELECT coalesce(jsonb_agg(jsonb_build_object('code', c->>'code')), '[]'::jsonb)
                 FROM jsonb_array_elements(checks) AS c),
       purged_at = coalesce(purged_at, now()),
       purge_reason = CASE WHEN $2 = 'erasure' THEN 'erasure' ELSE coalesce(purge_reason, $2) END,
       -- An erased card that was still to be sent is not sent: skipped, no longer pending, so no
       -- refill of its run's window queues it and its run can end.
       outcome = CASE WHEN $2 = 'erasure' AND pending THEN 'skipped' ELSE outcome END,
       reason = CASE WHEN $2 = 'erasure' AND pending THEN 'erased' ELSE reason END,
       pending = pending AND $2 <> 'erasure',
       updated_at = now()
     WHERE version_id = ANY($1::text[])
     RETURNING run_id, version_id, reason = 'erased' AS erased`,
    [versionIds, reason],
  );
  // The run an erased card was pending in records it skipped.
  const erased = rows.filter((r) => r.erased);
  if (erased.length > 0) {
    const { text, values } = syncRunCardsSql(
      erased.map((r) => ({ runId: r.run_id, versionId: r.version_id })),
    );
    await pool.query(text, values);
  }
  return rowCount ?? 0;
}
