import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ResultsStore } from '../src/results/store.js';
import { runCli } from './support/cli.js';
import { type Pipeline, pipelineEnv, startPipeline } from './support/pipeline.js';
import { createDatabase } from './support/store.js';

/**
 * Moving from the embedded store to PostgreSQL: `store copy` carries the ledger across, so a run
 * on PostgreSQL over the same bucket pays for nothing already answered.
 */
describe('macao-ocr store copy --to postgres://...', () => {
  let p: Pipeline;
  let db: Awaited<ReturnType<typeof createDatabase>>;
  const tableCounts = async (store: ResultsStore) =>
    (
      await store.pool.query(
        `SELECT (SELECT count(*) FROM runs)::int AS runs, (SELECT count(*) FROM cards)::int AS cards,
                (SELECT count(*) FROM run_cards)::int AS run_cards, (SELECT count(*) FROM api_calls)::int AS api_calls`,
      )
    ).rows[0];

  beforeAll(async () => {
    p = await startPipeline({ redisUrl: inject('redisUrl'), databaseUrl: inject('databaseUrl') });
    await p.upload('move/', { count: 6, faults: true, seed: 12 });
    const w = await p.startWorker();
    await p.enqueue('move/');
    await p.drained();
    await w.close();
    db = await createDatabase(inject('databaseUrl'), 'copy');
  });
  afterAll(async () => {
    await p?.close();
    await db?.drop();
  });

  it('copies every row; a run on PostgreSQL over the same bucket then makes 0 API calls', async () => {
    const env = { ...pipelineEnv(p), LOG_LEVEL: 'silent' };
    const copied = await runCli(['store', 'copy', '--to', db.url], env);
    expect(copied.err).toBe('');
    expect(copied.code).toBe(0);
    expect(copied.out).toMatch(/^copied the embedded store in .* to postgres:\/\/.*: 1 runs, \d+ cards, /);

    const target = await ResultsStore.open({ databaseUrl: db.url, dataDir: p.dataDir });
    try {
      expect(await tableCounts(target)).toEqual(await tableCounts(p.store));
      const audit = await target.pool.query(
        `SELECT command, args FROM audit_log WHERE command = 'store copy'`,
      );
      expect(audit.rows).toEqual([{ command: 'store copy', args: ['--to', db.url] }]);
    } finally {
      await target.close();
    }

    const calls = p.emulator.stats().calls;
    const run = await runCli(['run', `s3://${p.bucket}/move/`], { ...env, DATABASE_URL: db.url });
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/enqueued 0,/);
    expect(p.emulator.stats().calls).toBe(calls);
  });

  it('refuses a target that already holds data (exit 2), and a target that is no postgres:// URL', async () => {
    const env = { ...pipelineEnv(p), LOG_LEVEL: 'silent' };
    const again = await runCli(['store', 'copy', '--to', db.url], env);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/already holds 2 runs and \d+ cards: copy into an empty database/);
    const bad = await runCli(['store', 'copy', '--to', 'mysql://x@y/z'], env);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--to must be a postgres:// URL');
  });
});
