import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { MacaoCardFields } from '../src/card/fields.js';
import { versionId } from '../src/results/cardVersion.js';
import { type ExportOptions, exportCards } from '../src/results/exportCards.js';
import { migrate } from '../src/results/migrate.js';
import { MIGRATIONS } from '../src/results/migrations.js';
import type { ResultsStore } from '../src/results/store.js';
import type { CardResult, SeenCard } from '../src/results/types.js';
import { type Backend, openTestStore } from './support/store.js';

const FIELDS: MacaoCardFields = {
  CnLastName: '何',
  EnLastName: 'HO',
  LastNameCode: '0149',
  CnFirstName: '美玲',
  EnFirstName: 'MEI LENG',
  FirstNameCode: '51870117',
  ID: '1234567(8)',
  Birthday: '22-04-1997',
  Sex: 'F',
  FirstIssueDate: '06-05-2011',
  CurrentIssueDate: '01-08-2014',
  ValidityPeriod: '01-08-2024',
  Symbol: 'A',
  Height: '1.64',
  ResidentType: 'Permanent Resident Identity Card',
};

function seen(i: number, extra: Partial<SeenCard> = {}): SeenCard {
  const v = { bucket: 'cards', frontKey: `scan/${i}_front.jpg`, frontEtag: `"etag${i}"`, ...extra };
  return {
    ...v,
    versionId: versionId(v),
    sizeBytes: 1000 + i,
    lastModified: new Date('2026-11-01T00:00:00Z'),
  };
}

function result(
  card: SeenCard,
  runId: string,
  outcome: CardResult['outcome'],
  extra: Partial<CardResult> = {},
): CardResult {
  return {
    ...card,
    runId,
    outcome,
    attempts: 1,
    ...(outcome === 'recognized'
      ? {
          fields: FIELDS,
          warnings: [{ code: -9102, name: 'photocopy' }],
          checks: [{ code: 'telecode-mismatch', message: 'FirstNameCode does not match 美玲' }],
          rawResponse: { ...FIELDS, RetImage: 'AAAA', RequestId: 'req-1' },
          requestId: 'req-1',
          latencyMs: 123.4,
        }
      : {
          errorCode:
            outcome === 'failed' ? 'FailedOperation.OcrFailed' : 'FailedOperation.ImageNoSpecifiedCard',
        }),
    ...extra,
  };
}

async function collect(store: ResultsStore, opts: Parameters<typeof exportCards>[2]): Promise<string> {
  let text = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  await exportCards(store.pool, sink, opts);
  return text;
}

describe.each<Backend>(['pglite', 'postgres'])('results store on %s', (backend) => {
  let store: ResultsStore;
  let cleanup: () => Promise<void>;
  let runId: string;

  beforeAll(async () => {
    ({ store, cleanup } = await openTestStore(backend, inject('databaseUrl')));
    runId = (await store.createRun({ sources: ['s3://cards/scan/'], options: { reprocess: null } })).id;
  });
  afterAll(async () => cleanup?.());

  it('applies the migrations once and refuses a newer schema', async () => {
    const { rows } = await store.pool.query('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(await migrate(store.pool)).toEqual([]);
    const next = { version: 999, name: 'test: add a column', sql: 'ALTER TABLE runs ADD COLUMN note text' };
    expect(await migrate(store.pool, [...MIGRATIONS, next])).toEqual([999]);
    await expect(migrate(store.pool)).rejects.toThrow(/schema version 999, newer than this program knows/);
    await store.pool.query('DELETE FROM schema_migrations WHERE version = 999');
    await store.pool.query('ALTER TABLE runs DROP COLUMN note');
  });

  it('brings a store left at schema version 1 up to date, keeping its rows', async () => {
    // A store written by the first release: none of what the later migrations add.
    for (const undo of [
      'DROP TABLE run_cards',
      'DROP VIEW cards_public',
      'DROP INDEX cards_waiting',
      'DROP INDEX cards_in_queue',
      'DROP INDEX cards_pending',
      'ALTER TABLE cards DROP COLUMN queued_at',
      `ALTER TABLE runs DROP COLUMN priority, DROP COLUMN window_size, DROP COLUMN queue, DROP COLUMN notify_url,
         DROP COLUMN notify_attempts, DROP COLUMN notify_due_at, DROP COLUMN notified_at, DROP COLUMN notify_error`,
      'DROP INDEX cards_run_version',
      'ALTER TABLE runs DROP COLUMN account_conditions',
      'DROP TABLE audit_log',
      'DROP FUNCTION audit_log_append_only',
      'DROP INDEX cards_id_digits',
      'ALTER TABLE cards DROP COLUMN purged_at, DROP COLUMN purge_reason',
    ])
      await store.pool.query(undo);
    await store.pool.query('DELETE FROM schema_migrations WHERE version > 1');
    const runsBefore = (await store.pool.query('SELECT count(*)::int AS n FROM runs')).rows[0].n;
    expect(await migrate(store.pool)).toEqual(MIGRATIONS.filter((m) => m.version > 1).map((m) => m.version));
    const { rows } = await store.pool.query(
      `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'cards_run_version'`,
    );
    expect(rows).toHaveLength(1);
    expect((await store.pool.query('SELECT count(*)::int AS n FROM runs')).rows[0].n).toBe(runsBefore);
  });

  it('records a card once however often or concurrently the outcome is written', async () => {
    const card = seen(1);
    await store.recordSeen(runId, [card]);
    const r = result(card, runId, 'recognized');
    await Promise.all([store.recordOutcome(r), store.recordOutcome(r), store.recordOutcome(r)]);
    await store.recordOutcome(r);
    const { rows } = await store.pool.query('SELECT count(*)::int AS n FROM cards WHERE version_id = $1', [
      card.versionId,
    ]);
    expect(rows[0].n).toBe(1);
  });

  it('stores typed fields, no second copy of the answer, and the raw text of dates', async () => {
    const { rows } = await store.pool.query(
      `SELECT birthday, birthday_raw, validity_date, height_m::text AS h, id_number, raw_response, warnings, checks, latency_ms
       FROM cards WHERE version_id = $1`,
      [seen(1).versionId],
    );
    expect(rows[0]).toMatchObject({
      birthday: '1997-04-22',
      birthday_raw: '22-04-1997',
      validity_date: '2024-08-01',
      h: '1.64',
      id_number: '1234567(8)',
      latency_ms: 123,
      warnings: [{ code: -9102, name: 'photocopy' }],
    });
    // The raw answer keeps no second copy of what the columns hold (nor RetImage).
    expect(rows[0].raw_response).toBeNull();
  });

  it('keeps a date that does not exist as raw text only', async () => {
    const card = seen(2);
    await store.recordOutcome(
      result(card, runId, 'recognized', {
        fields: { ...FIELDS, ValidityPeriod: '------', Birthday: '31-02-1990' },
      }),
    );
    const { rows } = await store.pool.query(
      'SELECT birthday, birthday_raw, validity_date, validity_raw FROM cards WHERE version_id = $1',
      [card.versionId],
    );
    expect(rows[0]).toEqual({
      birthday: null,
      birthday_raw: '31-02-1990',
      validity_date: null,
      validity_raw: '------',
    });
  });

  it('never lets a later failure overwrite a recognized card unless reprocessing', async () => {
    const card = seen(1);
    expect(await store.recordOutcome(result(card, runId, 'failed'))).toBe('recognized');
    expect(await store.recordOutcome(result(card, runId, 'rejected'))).toBe('recognized');
    const { rows } = await store.pool.query('SELECT outcome, id_number FROM cards WHERE version_id = $1', [
      card.versionId,
    ]);
    expect(rows[0]).toEqual({ outcome: 'recognized', id_number: '1234567(8)' });
    expect(await store.recordOutcome(result(card, runId, 'failed'), { reprocess: true })).toBe('failed');
    expect(await store.recordOutcome(result(card, runId, 'recognized'))).toBe('recognized');
  });

  it('records a batch in one statement, the same version twice keeping the last, a recognized one kept', async () => {
    const cards = Array.from({ length: 5 }, (_, i) => seen(8000 + i));
    await store.recordOutcome(result(cards[0]!, runId, 'recognized'));
    const held = await store.recordOutcomes([
      result(cards[0]!, runId, 'failed'),
      result(cards[1]!, runId, 'failed'),
      result(cards[1]!, runId, 'rejected'),
      ...cards.slice(2).map((c) => result(c, runId, 'recognized')),
    ]);
    expect([...held.values()]).toEqual(['recognized', 'rejected', 'recognized', 'recognized', 'recognized']);
    const { rows } = await store.pool.query(
      'SELECT outcome, count(*)::int AS n FROM cards WHERE version_id = ANY($1) GROUP BY outcome ORDER BY outcome',
      [cards.map((c) => c.versionId)],
    );
    expect(rows).toEqual([
      { outcome: 'recognized', n: 4 },
      { outcome: 'rejected', n: 1 },
    ]);
    // The run's history says the same, the kept recognized card included, in the same statement.
    const history = await store.pool.query(
      `SELECT outcome, count(*)::int AS n FROM run_cards WHERE run_id = $1 AND version_id = ANY($2)
       GROUP BY outcome ORDER BY outcome`,
      [runId, cards.map((c) => c.versionId)],
    );
    expect(history.rows).toEqual(rows);
  });

  it('answers the ledger for a batch in one round trip', async () => {
    const cards = Array.from({ length: 300 }, (_, i) => seen(100 + i));
    await store.recordSeen(runId, cards);
    for (const c of cards.slice(0, 50)) await store.recordOutcome(result(c, runId, 'recognized'));
    for (const c of cards.slice(50, 60)) await store.recordOutcome(result(c, runId, 'failed'));
    let queries = 0;
    const original = store.pool.query.bind(store.pool);
    store.pool.query = ((...args: Parameters<typeof original>) => {
      queries++;
      return original(...args);
    }) as typeof store.pool.query;
    try {
      const done = await store.recognizedAmong(cards.map((c) => c.versionId));
      expect(done.size).toBe(50);
      expect(done.has(cards[0]!.versionId)).toBe(true);
      expect(done.has(cards[55]!.versionId)).toBe(false);
    } finally {
      store.pool.query = original;
    }
    expect(queries).toBe(1);
  });

  it('keeps a recognized row when the producer sees the card again, and marks the rest pending', async () => {
    const run2 = (await store.createRun({ sources: ['s3://cards/scan/'] })).id;
    const recognizedCard = seen(100);
    const failedCard = seen(150);
    const gif = seen(999, { frontKey: 'scan/x.gif' });
    await store.recordSeen(run2, [recognizedCard, failedCard, { ...gif, skipReason: 'unsupported-format' }]);
    const outcomes = await store.outcomesOf([recognizedCard.versionId, failedCard.versionId, gif.versionId]);
    expect(outcomes.get(recognizedCard.versionId)).toBe('recognized');
    expect(outcomes.get(failedCard.versionId)).toBe('failed');
    expect(outcomes.get(gif.versionId)).toBe('skipped');
    const s = await store.runSummary(run2);
    expect(s?.counts).toMatchObject({ pending: 2, skipped: 1 });
  });

  it('finds a call already in the ledger, so a retried write does not append it twice', async () => {
    const call = {
      versionId: seen(6100).versionId,
      runId: 'r-ledger',
      code: 'OK',
      latencyMs: 120,
      billed: true,
      calledAt: new Date('2026-11-29T03:00:00.123Z'),
      requestId: 'req-6100',
    };
    expect(await store.hasApiCall(call)).toBe(false);
    await store.recordApiCalls([call]);
    expect(await store.hasApiCall(call)).toBe(true);
    expect(await store.hasApiCall({ ...call, calledAt: new Date('2026-11-29T03:00:00.124Z') })).toBe(false);
    expect(await store.hasApiCall({ ...call, requestId: undefined })).toBe(false);
    const noId = { ...call, code: 'ClientError.Network', requestId: undefined };
    await store.recordApiCalls([noId]);
    expect(await store.hasApiCall(noId)).toBe(true);
  });

  it('summarises a run for operators', async () => {
    const run3 = (await store.createRun({ sources: ['s3://cards/r3/'] })).id;
    const cards = Array.from({ length: 6 }, (_, i) => seen(5000 + i));
    await store.recordSeen(run3, cards);
    await store.recordOutcome(result(cards[0]!, run3, 'recognized'));
    await store.recordOutcome(result(cards[1]!, run3, 'recognized', { warnings: [] }));
    await store.recordOutcome(result(cards[2]!, run3, 'rejected'));
    await store.recordOutcome(result(cards[3]!, run3, 'failed'));
    await store.recordOutcome(result(cards[4]!, run3, 'failed', { errorCode: 'InternalError' }));
    await store.recordApiCalls([
      {
        versionId: cards[0]!.versionId,
        runId: run3,
        code: 'OK',
        latencyMs: 100,
        billed: true,
        calledAt: new Date(),
        requestId: 'a',
      },
      {
        versionId: cards[3]!.versionId,
        runId: run3,
        code: 'FailedOperation.OcrFailed',
        latencyMs: 90,
        billed: false,
        calledAt: new Date(),
      },
      {
        versionId: cards[3]!.versionId,
        runId: run3,
        code: 'FailedOperation.OcrFailed',
        latencyMs: 95,
        billed: false,
        calledAt: new Date(),
      },
    ]);
    await store.updateRunCounts(run3, {
      found: 7,
      paired: 6,
      enqueued: 6,
      skipped: { 'unsupported-format': 1 },
    });
    const s = await store.runSummary(run3);
    expect(s).toMatchObject({
      found: 7,
      enqueued: 6,
      counts: { recognized: 2, rejected: 1, failed: 2, skipped: 0, pending: 1 },
      apiCalls: 3,
      billedCalls: 1,
    });
    expect(await store.errorCodeCounts(run3)).toEqual([
      { code: 'FailedOperation.ImageNoSpecifiedCard', outcome: 'rejected', count: 1 },
      { code: 'FailedOperation.OcrFailed', outcome: 'failed', count: 1 },
      { code: 'InternalError', outcome: 'failed', count: 1 },
    ]);
    expect(await store.apiCallCodeCounts(run3)).toEqual([
      { code: 'FailedOperation.OcrFailed', count: 2 },
      { code: 'OK', count: 1 },
    ]);
    expect(await store.warningCounts(run3)).toEqual([{ code: -9102, name: 'photocopy', count: 1 }]);
    expect(await store.checkCounts(run3)).toEqual([{ code: 'telecode-mismatch', count: 2 }]);
    expect((await store.failedCards(run3)).map((c) => c.versionId).sort()).toEqual(
      [cards[3]!.versionId, cards[4]!.versionId].sort(),
    );
    expect((await store.failedCards(run3, 'InternalError')).map((c) => c.versionId)).toEqual([
      cards[4]!.versionId,
    ]);
    // api_calls on the card row comes from the call ledger, so writing the outcome again changes nothing
    await store.recordOutcome(result(cards[3]!, run3, 'failed'));
    await store.recordOutcome(result(cards[3]!, run3, 'failed'));
    const { rows } = await store.pool.query('SELECT api_calls FROM cards WHERE version_id = $1', [
      cards[3]!.versionId,
    ]);
    expect(rows[0].api_calls).toBe(2);
    expect((await store.latestRun())?.id).toBe(run3);
  });

  it('round-trips quotes, commas and SQL-looking names exactly, in JSONL and CSV', async () => {
    const run4 = (await store.createRun({ sources: ['manifest.csv'] })).id;
    const nasty = `O'Brien, "Bobby"; DROP TABLE cards; --`;
    const card = seen(7000, { frontKey: 'scan/we,ird "key"\n.jpg' });
    await store.recordSeen(run4, [card]);
    await store.recordOutcome(
      result(card, run4, 'recognized', { fields: { ...FIELDS, EnFirstName: nasty, EnLastName: '=1+2' } }),
    );
    const jsonl = await collect(store, { runId: run4, format: 'jsonl' });
    const recs = jsonl
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({
      run: run4,
      bucket: 'cards',
      frontKey: 'scan/we,ird "key"\n.jpg',
      backKey: null,
      etag: 'etag7000',
      outcome: 'recognized',
      reason: null,
      errorCode: null,
      attempts: 1,
      apiCalls: 0,
      warnings: [{ code: -9102, name: 'photocopy' }],
      checks: [{ code: 'telecode-mismatch', message: 'FirstNameCode does not match 美玲' }],
    });
    expect(recs[0].fields).toEqual({ ...FIELDS, EnFirstName: nasty, EnLastName: '=1+2' });
    const csv = await collect(store, { runId: run4, format: 'csv' });
    expect(csv).toContain(`"O'Brien, ""Bobby""; DROP TABLE cards; --"`);
    expect(csv).toContain(`'=1+2`);
    expect(csv.split('\r\n')[0]).toMatch(/^run,versionId,bucket,frontKey,backKey,etag,outcome/);
    const { rows } = await store.pool.query('SELECT count(*)::int AS n FROM cards');
    expect(rows[0].n).toBeGreaterThan(300);
  });

  it('filters the export by outcome and error code', async () => {
    const run = (await store.latestRun())!.id;
    const all = await collect(store, { runId, format: 'jsonl' });
    const failedOnly = await collect(store, { runId, format: 'jsonl', outcomes: ['failed'] });
    const parsed = failedOnly
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(parsed.length).toBeGreaterThan(0);
    expect(parsed.every((r) => r.outcome === 'failed' && r.fields === null)).toBe(true);
    expect(all.trim().split('\n').length).toBeGreaterThan(parsed.length);
    const byCode = await collect(store, {
      runId,
      format: 'jsonl',
      errorCode: 'FailedOperation.OcrFailed',
      pageSize: 3,
    });
    expect(byCode.trim().split('\n').length).toBe(parsed.length);
    expect(run).toBeTruthy();
  });

  it("filters a reviewer's list: flagged cards, by API warning (code or name), by check finding", async () => {
    const r3 = (await store.createRun({ sources: ['s3://cards/review/'] })).id;
    const [warned, checked, clean, failed] = [seen(7001), seen(7002), seen(7003), seen(7004)];
    await store.recordSeen(r3, [warned, checked, clean, failed]);
    await store.recordOutcomes([
      result(warned, r3, 'recognized', { warnings: [{ code: -9108, name: 'blurry' }], checks: [] }),
      result(checked, r3, 'recognized', {
        warnings: [],
        checks: [{ code: 'ID.CheckDigit', message: 'the check digit does not match' }],
      }),
      result(clean, r3, 'recognized', { warnings: [], checks: [] }),
      result(failed, r3, 'failed'),
    ]);
    const keys = async (extra: Partial<ExportOptions>) =>
      (await collect(store, { runId: r3, format: 'jsonl', ...extra }))
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l).frontKey as string)
        .sort();
    expect(await keys({ flagged: true })).toEqual([warned.frontKey, checked.frontKey].sort());
    expect(await keys({ warning: '-9108' })).toEqual([warned.frontKey]);
    expect(await keys({ warning: 'blurry' })).toEqual([warned.frontKey]);
    expect(await keys({ check: 'ID.CheckDigit' })).toEqual([checked.frontKey]);
    expect(await keys({ warning: 'photocopy' })).toEqual([]);
    // In CSV a warning reads as a spreadsheet shows it: its name first, no formula guard needed.
    const csv = await collect(store, { runId: r3, format: 'csv', warning: 'blurry' });
    expect(csv).toContain(',blurry (-9108),');
    expect(csv).not.toContain("'-9108");
  });
});
