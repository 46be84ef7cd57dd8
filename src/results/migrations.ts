/**
 * Versioned schema migrations, applied in order on start (see `migrate.ts`). Append only: a
 * released migration is never edited, a change is a new version. The same SQL runs on
 * PostgreSQL (15+) and on embedded PGlite.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'runs, cards, api calls',
    sql: `
CREATE TABLE runs (
  id              text PRIMARY KEY,
  sources         text[] NOT NULL,
  options         jsonb NOT NULL DEFAULT '{}'::jsonb,
  state           text NOT NULL DEFAULT 'enqueueing'
                  CHECK (state IN ('enqueueing', 'running', 'paused', 'done')),
  paused_reason   text,
  found           integer NOT NULL DEFAULT 0,
  paired          integer NOT NULL DEFAULT 0,
  enqueued        integer NOT NULL DEFAULT 0,
  skipped         jsonb NOT NULL DEFAULT '{}'::jsonb,
  started_at      timestamptz NOT NULL DEFAULT now(),
  finished_at     timestamptz
);

-- One row per card version: the front's bucket, key and ETag, plus the back's when paired.
-- version_id is derived from those (cardVersion.ts) and is also the BullMQ job id.
CREATE TABLE cards (
  version_id          text PRIMARY KEY,
  bucket              text NOT NULL,
  front_key           text NOT NULL,
  front_etag          text NOT NULL,
  back_key            text,
  back_etag           text,
  size_bytes          bigint,
  last_modified       timestamptz,
  run_id              text NOT NULL REFERENCES runs (id),
  outcome             text CHECK (outcome IN ('recognized', 'rejected', 'failed', 'skipped')),
  reason              text,
  -- queued for processing in run_id and not finished yet; the outcome column keeps the previous one
  pending             boolean NOT NULL DEFAULT true,
  cn_last_name        text,
  en_last_name        text,
  last_name_code      text,
  cn_first_name       text,
  en_first_name       text,
  first_name_code     text,
  id_number           text,
  birthday            date,
  birthday_raw        text,
  sex                 text,
  first_issue_date    date,
  first_issue_raw     text,
  current_issue_date  date,
  current_issue_raw   text,
  validity_date       date,
  validity_raw        text,
  symbol              text,
  height_m            numeric(4, 2),
  height_raw          text,
  resident_type       text,
  warnings            jsonb NOT NULL DEFAULT '[]'::jsonb,
  checks              jsonb NOT NULL DEFAULT '[]'::jsonb,
  error_code          text,
  error_message       text,
  attempts            integer NOT NULL DEFAULT 0,
  api_calls           integer NOT NULL DEFAULT 0,
  latency_ms          integer,
  request_id          text,
  portrait_key        text,
  raw_response        jsonb,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  finished_at         timestamptz
);
CREATE INDEX cards_run_outcome ON cards (run_id, outcome);
CREATE INDEX cards_front ON cards (bucket, front_key);

-- Append-only: every HTTP exchange with the OCR API, so cost and audits reconcile with the bill.
CREATE TABLE api_calls (
  id          bigserial PRIMARY KEY,
  version_id  text NOT NULL,
  run_id      text,
  request_id  text,
  code        text NOT NULL,
  latency_ms  integer NOT NULL,
  billed      boolean NOT NULL,
  called_at   timestamptz NOT NULL
);
CREATE INDEX api_calls_run ON api_calls (run_id);
CREATE INDEX api_calls_version ON api_calls (version_id);
`,
  },
  {
    version: 2,
    name: 'cards of a run in version order',
    // Exports and \`retry\` page through a run's cards by version id (keyset pages). Without this
    // index every page sorted the whole run: an export of 100,000 cards read the run 100 times
    // (~130 ms a page on PGlite; bench/results-store).
    sql: `
CREATE INDEX cards_run_version ON cards (run_id, version_id);
-- exportCards analyses these two columns before paging; a small sample (3,000 rows, not
-- 30,000) is plenty for them and keeps the embedded database's memory down.
ALTER TABLE cards ALTER COLUMN run_id SET STATISTICS 10, ALTER COLUMN version_id SET STATISTICS 10;
`,
  },
  {
    version: 3,
    name: 'account conditions of a run',
    // What the API says of the account rather than of a card (-9109: the card-warning service is
    // not enabled), noted once per run and shown in status and the report.
    sql: `ALTER TABLE runs ADD COLUMN account_conditions integer[] NOT NULL DEFAULT '{}';`,
  },
  {
    version: 4,
    name: 'personal data: tombstones, audit log, a view without personal columns',
    sql: `
-- A purged or erased card keeps its row as a tombstone (identity, outcome, codes, ledger): the
-- scan is not paid for again and reports still count it; its personal values are gone.
ALTER TABLE cards
  ADD COLUMN purged_at timestamptz,
  ADD COLUMN purge_reason text CHECK (purge_reason IN ('retention', 'erasure'));
CREATE INDEX cards_to_purge ON cards (finished_at) WHERE purged_at IS NULL AND NOT pending;
-- Erasure finds a person by the digits of the ID number, whichever way it was printed.
CREATE INDEX cards_id_digits ON cards (regexp_replace(id_number, '[^0-9]', '', 'g')) WHERE id_number IS NOT NULL;

-- Who did what to personal data: append-only (a trigger refuses updates and deletes).
CREATE TABLE audit_log (
  id        bigserial PRIMARY KEY,
  at        timestamptz NOT NULL DEFAULT now(),
  os_user   text NOT NULL,
  host      text NOT NULL,
  pid       integer NOT NULL,
  command   text NOT NULL,
  args      jsonb NOT NULL DEFAULT '[]'::jsonb,
  counts    jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- Every card without its personal columns: what a reader (status, report without fields, BI
-- tools) may see.
CREATE VIEW cards_public AS
  SELECT version_id, bucket, front_key, front_etag, back_key, back_etag, size_bytes, last_modified,
         run_id, outcome, reason, pending, warnings, checks, error_code, error_message, attempts,
         api_calls, latency_ms, request_id, created_at, updated_at, finished_at, purged_at, purge_reason
  FROM cards;
`,
  },
  {
    version: 5,
    name: 'priorities, windows and notices of runs',
    sql: `
-- A run's priority orders its cards against other runs' on the shared quota; window_size bounds
-- how many of its jobs Redis holds at once (the rest wait as pending rows, queued_at NULL).
ALTER TABLE runs
  ADD COLUMN priority text NOT NULL DEFAULT 'normal' CHECK (priority IN ('high', 'normal', 'low')),
  ADD COLUMN window_size integer CHECK (window_size >= 1),
  -- The queue its jobs go to: the workers of that queue, and only they, refill its window.
  ADD COLUMN queue text,
  -- Where the run's end is announced, and how the delivery went (delivered once per run).
  ADD COLUMN notify_url text,
  ADD COLUMN notify_attempts integer NOT NULL DEFAULT 0,
  ADD COLUMN notify_due_at timestamptz,
  ADD COLUMN notified_at timestamptz,
  ADD COLUMN notify_error text;
-- When the card's job was put in the queue; NULL while it waits in the store. Set only after the
-- job was added, so a crash in between leaves a row that is queued again (a job id that exists
-- adds nothing; a card the ledger settled costs no call).
ALTER TABLE cards ADD COLUMN queued_at timestamptz;
UPDATE cards SET queued_at = updated_at WHERE pending;
-- Every worker asks once a second which runs have cards waiting, how many are in the queue, and
-- which runs have none pending: each question reads only the rows it is about, not the backlog.
CREATE INDEX cards_waiting ON cards (run_id, version_id) WHERE pending AND queued_at IS NULL;
CREATE INDEX cards_in_queue ON cards (run_id) WHERE pending AND queued_at IS NOT NULL;
CREATE INDEX cards_pending ON cards (run_id) WHERE pending;
CREATE OR REPLACE VIEW cards_public AS
  SELECT version_id, bucket, front_key, front_etag, back_key, back_etag, size_bytes, last_modified,
         run_id, outcome, reason, pending, warnings, checks, error_code, error_message, attempts,
         api_calls, latency_ms, request_id, created_at, updated_at, finished_at, purged_at, purge_reason,
         queued_at
  FROM cards;
`,
  },
  {
    version: 6,
    name: 'what became of each card in each run',
    sql: `
-- A run's history: one row per card version the run saw, with what became of it in that run.
-- \`cards\` holds a version's latest state (the ledger, the fields, the run that sends it now);
-- a later run that lists the same version again adds its own row here and never changes an
-- earlier run's. Reports and summaries read this table, joined to \`cards\` for the fields.
CREATE TABLE run_cards (
  run_id       text NOT NULL REFERENCES runs (id),
  version_id   text NOT NULL,
  outcome      text CHECK (outcome IN ('recognized', 'rejected', 'failed', 'skipped')),
  reason       text,
  error_code   text,
  pending      boolean NOT NULL,
  attempts     integer NOT NULL DEFAULT 0,
  api_calls    integer NOT NULL DEFAULT 0,
  finished_at  timestamptz,
  PRIMARY KEY (run_id, version_id)
);
CREATE INDEX run_cards_version ON run_cards (version_id);
INSERT INTO run_cards (run_id, version_id, outcome, reason, error_code, pending, attempts, api_calls, finished_at)
  SELECT run_id, version_id, CASE WHEN pending THEN NULL ELSE outcome END, reason, error_code, pending,
         attempts, api_calls, finished_at
  FROM cards;
ALTER TABLE run_cards ALTER COLUMN run_id SET STATISTICS 10, ALTER COLUMN version_id SET STATISTICS 10;
`,
  },
];
