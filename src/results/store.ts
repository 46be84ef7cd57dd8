import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { type AuditEntry, recordAudit } from './audit.js';
import { type Database, type DatabaseOptions, openDatabase } from './database.js';
import type { ApiCallRow, CardResult, Outcome, Priority, RunRow, RunSummary, SeenCard } from './types.js';
import {
  insertApiCallsSql,
  insertLedgerSkipsSql,
  syncRunCardsSql,
  upsertOutcomesSql,
  upsertSeenSql,
} from './writes.js';

/** Rows per multi-row statement: well under PostgreSQL's 65,535 bind parameters (9 per seen card). */
const BATCH = 1000;
/** Outcomes per statement: 37 parameters each. */
const OUTCOME_BATCH = 500;

/** A new run id: sortable by time and readable, e.g. `r20261129-020202-3fa9`. */
export function newRunId(now = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `r${t}-${randomBytes(2).toString('hex')}`;
}

export interface RunDbRow {
  id: string;
  sources: string[];
  options: Record<string, unknown>;
  state: RunRow['state'];
  paused_reason: string | null;
  found: number;
  paired: number;
  enqueued: number;
  skipped: Record<string, number>;
  started_at: Date;
  finished_at: Date | null;
  account_conditions: number[];
  priority: Priority;
  window_size: number | null;
  notify_url: string | null;
  notified_at: Date | null;
}

export function toRun(r: RunDbRow): RunRow {
  return {
    id: r.id,
    sources: r.sources,
    options: r.options,
    state: r.state,
    pausedReason: r.paused_reason,
    found: r.found,
    paired: r.paired,
    enqueued: r.enqueued,
    skipped: r.skipped,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    accountConditions: r.account_conditions ?? [],
    priority: r.priority,
    windowSize: r.window_size,
    notifyUrl: r.notify_url,
    notifiedAt: r.notified_at,
  };
}

/** The columns that name a card version and its size, as {@link toSeenCard} reads them. */
export const CARD_IDENTITY = 'version_id, bucket, front_key, front_etag, back_key, back_etag, size_bytes';

export interface CardIdentityRow {
  version_id: string;
  bucket: string;
  front_key: string;
  front_etag: string;
  back_key: string | null;
  back_etag: string | null;
  size_bytes: string | number | null;
}

export function toSeenCard(r: CardIdentityRow): SeenCard {
  return {
    versionId: r.version_id,
    bucket: r.bucket,
    frontKey: r.front_key,
    frontEtag: r.front_etag,
    backKey: r.back_key,
    backEtag: r.back_etag,
    sizeBytes: r.size_bytes === null ? undefined : Number(r.size_bytes),
  };
}

/**
 * The results store: the pipeline's memory and the ledger that keeps us from paying twice.
 * PostgreSQL or embedded PGlite behind the same SQL.
 */
export class ResultsStore {
  readonly db: Database;

  constructor(db: Database) {
    this.db = db;
  }

  static async open(opts: DatabaseOptions): Promise<ResultsStore> {
    return new ResultsStore(await openDatabase(opts));
  }

  get pool(): pg.Pool {
    return this.db.pool;
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  // --- runs ---

  /**
   * Records a new run. With an `id` that exists already (a scheduled tick run again after a
   * crash), that run is returned as it is.
   */
  async createRun(run: {
    id?: string;
    sources: string[];
    options?: Record<string, unknown>;
    priority?: Priority;
    windowSize?: number;
    /** The queue its jobs go to. */
    queue?: string;
    notifyUrl?: string | undefined;
  }): Promise<RunRow> {
    const id = run.id ?? newRunId();
    await this.pool.query(
      `INSERT INTO runs (id, sources, options, priority, window_size, notify_url, queue)
       VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
      [
        id,
        run.sources,
        JSON.stringify(run.options ?? {}),
        run.priority ?? 'normal',
        run.windowSize ?? null,
        run.notifyUrl ?? null,
        run.queue ?? null,
      ],
    );
    const created = await this.getRun(id);
    if (!created) throw new Error(`run ${id} was not recorded`);
    return created;
  }

  async getRun(id: string): Promise<RunRow | undefined> {
    const { rows } = await this.pool.query<RunDbRow>('SELECT * FROM runs WHERE id = $1', [id]);
    return rows[0] ? toRun(rows[0]) : undefined;
  }

  /**
   * The newest run that has cards, for commands whose RUN argument is optional: an enqueue of an
   * empty or mistyped prefix must not hide the run an operator is watching. The newest run of all
   * when none has cards.
   */
  async latestRun(): Promise<RunRow | undefined> {
    const { rows } = await this.pool.query<RunDbRow>(
      `SELECT * FROM runs
        ORDER BY EXISTS (SELECT 1 FROM run_cards rc WHERE rc.run_id = runs.id) DESC, started_at DESC, id DESC
        LIMIT 1`,
    );
    return rows[0] ? toRun(rows[0]) : undefined;
  }

  async updateRunCounts(
    id: string,
    counts: { found: number; paired: number; enqueued: number; skipped: Record<string, number> },
  ): Promise<void> {
    await this.pool.query(
      'UPDATE runs SET found = $2, paired = $3, enqueued = $4, skipped = $5::jsonb WHERE id = $1',
      [id, counts.found, counts.paired, counts.enqueued, JSON.stringify(counts.skipped)],
    );
  }

  async setRunState(id: string, state: RunRow['state'], pausedReason: string | null = null): Promise<void> {
    await this.pool.query(
      `UPDATE runs SET state = $2, paused_reason = $3,
         finished_at = CASE WHEN $2 = 'done' THEN coalesce(finished_at, now()) ELSE NULL END
       WHERE id = $1`,
      [id, state, pausedReason],
    );
  }

  async setRunPriority(id: string, priority: Priority): Promise<void> {
    await this.pool.query('UPDATE runs SET priority = $2 WHERE id = $1', [id, priority]);
  }

  /** Merges `patch` into a run's options (what its later jobs are made with). */
  async updateRunOptions(id: string, patch: Record<string, unknown>): Promise<void> {
    await this.pool.query('UPDATE runs SET options = options || $2::jsonb WHERE id = $1', [
      id,
      JSON.stringify(patch),
    ]);
  }

  /**
   * Notes a condition of the account the API reported during a run (once per run): true when it
   * is new to the run, so that it is logged once however many cards report it.
   */
  async noteAccountCondition(runId: string, code: number): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE runs SET account_conditions = array_append(account_conditions, $2::integer)
       WHERE id = $1 AND NOT ($2::integer = ANY (account_conditions))`,
      [runId, code],
    );
    return (rowCount ?? 0) > 0;
  }

  /** Appends to the audit log: who ran which command on personal data or the queue, with counts. */
  async audit(entry: AuditEntry): Promise<void> {
    await recordAudit(this.pool, entry);
  }

  /** Whether this connection's role may read the cards' personal columns (a reader may not). */
  async canReadPersonalData(): Promise<boolean> {
    const { rows } = await this.pool.query<{ ok: boolean }>(
      `SELECT has_column_privilege('cards', 'id_number', 'SELECT') AS ok`,
    );
    return rows[0]?.ok === true;
  }

  /** Every paused run carries on (after `resume`): back to `running`, the pause reason cleared. */
  async resumePausedRuns(): Promise<void> {
    await this.pool.query(`UPDATE runs SET state = 'running', paused_reason = NULL WHERE state = 'paused'`);
  }

  // --- writes ---

  /**
   * Records the card versions the producer saw (pending, or skipped with a reason), in batches,
   * and each in the run's history.
   */
  async recordSeen(runId: string, cards: readonly SeenCard[]): Promise<void> {
    for (let i = 0; i < cards.length; i += BATCH) {
      const batch = cards.slice(i, i + BATCH);
      const { text, values } = upsertSeenSql(runId, batch);
      await this.pool.query(text, values);
      await this.syncRunCards(batch.map((c) => ({ runId, versionId: c.versionId })));
    }
  }

  /**
   * Records in a run's history the cards it listed but did not send because of the ledger
   * (`already-recognized`, `already-queued`, ...). A card the run holds already keeps its row.
   */
  async recordLedgerSkips(
    runId: string,
    skips: readonly { versionId: string; reason: string }[],
  ): Promise<void> {
    for (let i = 0; i < skips.length; i += BATCH) {
      const { text, values } = insertLedgerSkipsSql(runId, skips.slice(i, i + BATCH));
      await this.pool.query(text, values);
    }
  }

  /** Copies the cards' state now into these runs' history rows ({@link syncRunCardsSql}). */
  async syncRunCards(pairs: readonly { runId: string; versionId: string }[]): Promise<void> {
    if (pairs.length === 0) return;
    const { text, values } = syncRunCardsSql(pairs);
    await this.pool.query(text, values);
  }

  /**
   * Records what a worker learned. Returns the outcome the row holds afterwards: a `recognized`
   * row stays `recognized` against a later `failed`/`rejected` unless `reprocess` is set.
   */
  async recordOutcome(result: CardResult, opts: { reprocess?: boolean } = {}): Promise<Outcome> {
    return (await this.recordOutcomes([result], opts)).get(result.versionId) ?? 'recognized';
  }

  /** {@link recordOutcome} for many cards, one statement per {@link OUTCOME_BATCH}. */
  async recordOutcomes(
    results: readonly CardResult[],
    opts: { reprocess?: boolean } = {},
  ): Promise<Map<string, Outcome>> {
    const held = new Map<string, Outcome>();
    for (let i = 0; i < results.length; i += OUTCOME_BATCH) {
      const batch = results.slice(i, i + OUTCOME_BATCH);
      const { text, values } = upsertOutcomesSql(batch, opts.reprocess ?? false);
      const { rows } = await this.pool.query<{ version_id: string; outcome: Outcome }>(text, values);
      // A version missing from RETURNING was kept by the WHERE: it is recognized already.
      for (const r of batch) held.set(r.versionId, 'recognized');
      for (const r of rows) held.set(r.version_id, r.outcome);
    }
    return held;
  }

  /** Appends API calls (the audit ledger). */
  async recordApiCalls(calls: readonly ApiCallRow[]): Promise<void> {
    for (let i = 0; i < calls.length; i += BATCH) {
      const { text, values } = insertApiCallsSql(calls.slice(i, i + BATCH));
      await this.pool.query(text, values);
    }
  }

  /**
   * Whether this call is in the ledger already: a retried write whose first try committed before
   * its connection dropped must not append the call twice.
   */
  async hasApiCall(call: ApiCallRow): Promise<boolean> {
    const { rows } = await this.pool.query(
      `SELECT 1 FROM api_calls WHERE version_id = $1 AND called_at = $2 AND code = $3
         AND request_id IS NOT DISTINCT FROM $4 LIMIT 1`,
      [call.versionId, call.calledAt, call.code, call.requestId ?? null],
    );
    return rows.length > 0;
  }

  // --- the ledger ---

  /** Which of these versions are already recognized: one round trip per batch. */
  async recognizedAmong(versionIds: readonly string[]): Promise<Set<string>> {
    if (versionIds.length === 0) return new Set();
    const { rows } = await this.pool.query<{ version_id: string }>(
      `SELECT version_id FROM cards WHERE version_id = ANY($1::text[]) AND outcome = 'recognized'`,
      [versionIds],
    );
    return new Set(rows.map((r) => r.version_id));
  }

  /**
   * Marks a recognized version as no longer pending: a job the worker skipped because the ledger
   * says it is recognized already (queued again while an earlier job was recognizing it: the
   * producer's row update had set it pending).
   */
  async settleRecognized(versionId: string, runId: string): Promise<void> {
    await this.pool.query(
      `UPDATE cards SET pending = false, updated_at = now()
       WHERE version_id = $1 AND outcome = 'recognized' AND pending`,
      [versionId],
    );
    await this.syncRunCards([{ runId, versionId }]);
  }

  /**
   * Where each known version stands: its outcome (null while never finished), and the run it
   * is pending in, if it is: one round trip.
   */
  async ledgerOf(
    versionIds: readonly string[],
  ): Promise<Map<string, { outcome: Outcome | null; pendingIn: string | null; queued: boolean }>> {
    if (versionIds.length === 0) return new Map();
    const { rows } = await this.pool.query<{
      version_id: string;
      outcome: Outcome | null;
      pending: boolean;
      run_id: string;
      queued: boolean;
    }>(
      `SELECT version_id, outcome, pending, run_id, queued_at IS NOT NULL AS queued
         FROM cards WHERE version_id = ANY($1::text[])`,
      [versionIds],
    );
    return new Map(
      rows.map((r) => [
        r.version_id,
        { outcome: r.outcome, pendingIn: r.pending ? r.run_id : null, queued: r.queued },
      ]),
    );
  }

  /**
   * Pending cards whose job was lost (marked queued, yet no job exists: Redis flushed or
   * restored): back to waiting in the store, so their own run's keeper queues them again.
   */
  async requeueLost(versionIds: readonly string[]): Promise<void> {
    if (versionIds.length === 0) return;
    await this.pool.query(
      'UPDATE cards SET queued_at = NULL WHERE version_id = ANY($1::text[]) AND pending AND queued_at IS NOT NULL',
      [versionIds],
    );
  }

  /** The current outcome of each known version (null while never finished): one round trip. */
  async outcomesOf(versionIds: readonly string[]): Promise<Map<string, Outcome | null>> {
    if (versionIds.length === 0) return new Map();
    const { rows } = await this.pool.query<{ version_id: string; outcome: Outcome | null }>(
      'SELECT version_id, outcome FROM cards WHERE version_id = ANY($1::text[])',
      [versionIds],
    );
    return new Map(rows.map((r) => [r.version_id, r.outcome]));
  }

  // --- operators ---

  async runSummary(runId: string): Promise<RunSummary | undefined> {
    const run = await this.getRun(runId);
    return run ? this.summarize(run) : undefined;
  }

  /** A run's summary from its row: its cards by outcome (its history) and its API calls. */
  async summarize(run: RunRow): Promise<RunSummary> {
    const runId = run.id;
    const { rows } = await this.pool.query<{ pending: number; outcome: Outcome | null; n: number }>(
      `SELECT pending, outcome, count(*)::int AS n FROM run_cards WHERE run_id = $1 GROUP BY pending, outcome`,
      [runId],
    );
    const counts: RunSummary['counts'] = { recognized: 0, rejected: 0, failed: 0, skipped: 0, pending: 0 };
    for (const r of rows) {
      if (r.pending || r.outcome === null) counts.pending += r.n;
      else counts[r.outcome] += r.n;
    }
    const calls = await this.pool.query<{ calls: number; billed: number }>(
      'SELECT count(*)::int AS calls, count(*) FILTER (WHERE billed)::int AS billed FROM api_calls WHERE run_id = $1',
      [runId],
    );
    return { ...run, counts, apiCalls: calls.rows[0]?.calls ?? 0, billedCalls: calls.rows[0]?.billed ?? 0 };
  }

  /** Error codes of a run's finished cards, most frequent first. */
  async errorCodeCounts(runId: string): Promise<{ code: string; outcome: Outcome; count: number }[]> {
    const { rows } = await this.pool.query<{ code: string; outcome: Outcome; count: number }>(
      `SELECT error_code AS code, outcome, count(*)::int AS count FROM run_cards
       WHERE run_id = $1 AND error_code IS NOT NULL AND NOT pending
       GROUP BY error_code, outcome ORDER BY count DESC, code`,
      [runId],
    );
    return rows;
  }

  /** A run's skipped cards and files by reason, most frequent first: they add up to its `skipped`. */
  async skipReasonCounts(runId: string): Promise<{ reason: string; count: number }[]> {
    const { rows } = await this.pool.query<{ reason: string; count: number }>(
      `SELECT coalesce(reason, 'unknown') AS reason, count(*)::int AS count FROM run_cards
       WHERE run_id = $1 AND outcome = 'skipped' AND NOT pending GROUP BY 1 ORDER BY count DESC, reason`,
      [runId],
    );
    return rows;
  }

  /** Codes of every API call of a run (retries included), most frequent first. */
  async apiCallCodeCounts(runId: string): Promise<{ code: string; count: number }[]> {
    const { rows } = await this.pool.query<{ code: string; count: number }>(
      'SELECT code, count(*)::int AS count FROM api_calls WHERE run_id = $1 GROUP BY code ORDER BY count DESC, code',
      [runId],
    );
    return rows;
  }

  /** API warnings on a run's recognized cards, most frequent first. */
  async warningCounts(runId: string): Promise<{ code: number; name: string; count: number }[]> {
    const { rows } = await this.pool.query<{ code: number; name: string; count: number }>(
      `SELECT (w->>'code')::int AS code, w->>'name' AS name, count(*)::int AS count
       FROM run_cards rc JOIN cards c USING (version_id), jsonb_array_elements(c.warnings) AS w
       WHERE rc.run_id = $1 AND rc.outcome = 'recognized' GROUP BY 1, 2 ORDER BY count DESC, code`,
      [runId],
    );
    return rows;
  }

  /** Failed checks on a run's recognized cards, most frequent first. */
  async checkCounts(runId: string): Promise<{ code: string; count: number }[]> {
    const { rows } = await this.pool.query<{ code: string; count: number }>(
      `SELECT f->>'code' AS code, count(*)::int AS count
       FROM run_cards rc JOIN cards c USING (version_id), jsonb_array_elements(c.checks) AS f
       WHERE rc.run_id = $1 AND rc.outcome = 'recognized' GROUP BY 1 ORDER BY count DESC, code`,
      [runId],
    );
    return rows;
  }

  /** The failed cards of a run (for `retry`), optionally only those with one error code. */
  async failedCards(runId: string, code?: string): Promise<SeenCard[]> {
    const { rows } = await this.pool.query<CardIdentityRow>(
      // Failed in this run and still failed now (not recognized, nor pending, since).
      `SELECT ${CARD_IDENTITY} FROM cards
       WHERE version_id IN (SELECT version_id FROM run_cards WHERE run_id = $1 AND outcome = 'failed')
         AND outcome = 'failed' AND NOT pending AND ($2::text IS NULL OR error_code = $2)
       ORDER BY version_id`,
      [runId, code ?? null],
    );
    return rows.map(toSeenCard);
  }
}
