import { quoteIdent } from './database.js';
import { PERSONAL_COLUMNS } from './personalData.js';

/** The group roles, least privilege first. Grant them to login roles; they cannot log in. */
export const ROLES = {
  /** `enqueue`, `work`, `run`, `retry`, `resume`, `purge`, `erase`: the pipeline, no DDL. */
  worker: 'macao_worker',
  /** `status`, and `report` without the personal columns. */
  reader: 'macao_reader',
  /** `report` with the fields, and the audit log. */
  reviewer: 'macao_reviewer',
} as const;

/** The columns of `cards` a reader may select: everything but {@link PERSONAL_COLUMNS}. */
export const PUBLIC_CARD_COLUMNS = [
  'version_id',
  'bucket',
  'front_key',
  'front_etag',
  'back_key',
  'back_etag',
  'size_bytes',
  'last_modified',
  'run_id',
  'outcome',
  'reason',
  'pending',
  'warnings',
  'checks',
  'error_code',
  'error_message',
  'attempts',
  'api_calls',
  'latency_ms',
  'request_id',
  'created_at',
  'updated_at',
  'finished_at',
  'purged_at',
  'purge_reason',
  'queued_at',
] as const;

/**
 * Idempotent SQL that creates the three group roles and grants each exactly what its commands
 * need on `schema` (run it as the schema's owner after `macao-ocr migrate`, and again after each
 * upgrade). Nobody but the owner gets DDL; the reader gets the cards' columns without personal
 * data, column by column, so `SELECT *` on `cards` is refused while status and the reader's
 * report work; the audit log takes inserts from everyone and updates from no one.
 */
export function rolesSql(schema = 'public'): string {
  const s = quoteIdent(schema);
  const { worker, reader, reviewer } = ROLES;
  const all = `${worker}, ${reader}, ${reviewer}`;
  const create = Object.values(ROLES)
    .map(
      (r) =>
        `  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${r}') THEN CREATE ROLE ${r} NOLOGIN; END IF;`,
    )
    .join('\n');
  return `-- macao-ocr group roles on schema ${schema}. Grant them to login roles, e.g.:
--   CREATE ROLE nightly LOGIN PASSWORD '...' IN ROLE ${worker};
DO $$
BEGIN
${create}
END
$$;
GRANT USAGE ON SCHEMA ${s} TO ${all};
GRANT SELECT ON ${s}.schema_migrations TO ${all};
GRANT INSERT ON ${s}.audit_log TO ${all};
GRANT USAGE ON SEQUENCE ${s}.audit_log_id_seq TO ${all};

-- ${worker}: the pipeline reads and writes runs, cards and the call ledger.
GRANT SELECT, INSERT, UPDATE ON ${s}.runs, ${s}.cards, ${s}.run_cards TO ${worker};
GRANT SELECT, INSERT ON ${s}.api_calls TO ${worker};
GRANT USAGE ON SEQUENCE ${s}.api_calls_id_seq TO ${worker};

-- ${reader}: runs and their history, the call ledger, and the cards without their personal columns.
GRANT SELECT ON ${s}.runs, ${s}.run_cards, ${s}.api_calls, ${s}.cards_public TO ${reader}, ${reviewer};
REVOKE SELECT ON ${s}.cards FROM ${reader};
GRANT SELECT (${PUBLIC_CARD_COLUMNS.join(', ')}) ON ${s}.cards TO ${reader};

-- ${reviewer}: every column of the cards, and the audit log.
GRANT SELECT ON ${s}.cards, ${s}.audit_log TO ${reviewer};
`;
}
