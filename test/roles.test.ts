import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { rolesSql } from '../src/results/roles.js';
import { runCli } from './support/cli.js';
import { type Pipeline, pipelineEnv, startPipeline } from './support/pipeline.js';
import { spawnWorker, until } from './support/processes.js';
import { createDatabase } from './support/store.js';

/**
 * Least privilege on real PostgreSQL: the owner migrates and grants (`migrate`, `roles --sql`);
 * login roles in macao_worker, macao_reader and macao_reviewer run their commands with exactly
 * those grants.
 */

describe('database roles', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let p: Pipeline;
  const suffix = randomBytes(3).toString('hex');
  const logins = {
    worker: `t_worker_${suffix}`,
    reader: `t_reader_${suffix}`,
    reviewer: `t_reviewer_${suffix}`,
  };
  const asOwner = async (sql: string, params: unknown[] = []): Promise<pg.QueryResult> => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      return await c.query(sql, params);
    } finally {
      await c.end();
    }
  };
  /** DATABASE_URL for a login role (trust authentication, as on the test servers). */
  const urlFor = (role: string): string => {
    const u = new URL(db.url);
    u.username = role;
    u.password = '';
    return u.toString();
  };
  const envFor = (role: string): Record<string, string> => ({
    ...pipelineEnv(p),
    DATABASE_URL: urlFor(role),
  });

  beforeAll(async () => {
    db = await createDatabase(inject('databaseUrl'), 'roles');
    // The pipeline's own store connection is the owner's: it migrates, as `macao-ocr migrate` does.
    p = await startPipeline({
      redisUrl: inject('redisUrl'),
      databaseUrl: db.url,
      backend: 'postgres',
      schema: 'public',
    });
    await asOwner(rolesSql('public'));
    for (const [group, login] of Object.entries(logins)) {
      await asOwner(`CREATE ROLE ${login} LOGIN IN ROLE macao_${group}`);
    }
    await p.upload('r/', { count: 4, seed: 71, backRatio: 0 });
  }, 120_000);

  afterAll(async () => {
    await p?.close();
    await db?.drop();
    for (const login of Object.values(logins))
      await asOwner(`DROP ROLE IF EXISTS ${login}`).catch(() => undefined);
  });

  it('every command but migrate refuses a schema behind it, saying what to run', async () => {
    const fresh = await createDatabase(inject('databaseUrl'), 'behind');
    try {
      const r = await runCli(['status', '--json'], { ...pipelineEnv(p), DATABASE_URL: fresh.url });
      expect(r.code).toBe(1);
      expect(r.err).toContain('run `macao-ocr migrate` as the schema');
      const m = await runCli(['migrate'], { ...pipelineEnv(p), DATABASE_URL: fresh.url });
      expect(m.code, m.err).toBe(0);
      expect(m.out).toMatch(/schema is at version \d+/);
    } finally {
      await fresh.drop();
    }
  });

  it('a macao_worker login runs the pipeline with no DDL right', async () => {
    const r = await runCli(['run', `s3://${p.bucket}/r/`], envFor(logins.worker));
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/recognized\s+4\b/);
    // It may not change the schema.
    const c = new pg.Client({ connectionString: urlFor(logins.worker) });
    await c.connect();
    try {
      await expect(c.query('CREATE TABLE t_forbidden (x int)')).rejects.toThrow(/permission denied/);
      await expect(c.query('ALTER TABLE cards ADD COLUMN x int')).rejects.toThrow(/must be owner/);
      await expect(c.query('DELETE FROM audit_log')).rejects.toThrow(/permission denied/);
    } finally {
      await c.end();
    }
  });

  it('a macao_reader login reads status and a report without personal columns, and no card field', async () => {
    const status = await runCli(['status', '--json'], envFor(logins.reader));
    expect(status.code, status.err).toBe(0);
    expect(JSON.parse(status.out).counts.recognized).toBe(4);
    const csv = await runCli(['report', '--format', 'csv'], envFor(logins.reader));
    expect(csv.code, csv.err).toBe(0);
    expect(csv.err).toContain('may not read personal data');
    const rows = csv.out.trim().split('\r\n');
    expect(rows).toHaveLength(5);
    const ids = (await asOwner('SELECT id_number FROM cards')).rows.map((r) => r.id_number as string);
    for (const id of ids) expect(csv.out).not.toContain(id);
    const c = new pg.Client({ connectionString: urlFor(logins.reader) });
    await c.connect();
    try {
      await expect(c.query('SELECT * FROM cards')).rejects.toThrow(/permission denied/);
      await expect(c.query('SELECT id_number FROM cards')).rejects.toThrow(/permission denied/);
      expect((await c.query('SELECT count(*)::int AS n FROM cards_public')).rows[0].n).toBe(4);
    } finally {
      await c.end();
    }
  });

  it('a macao_reviewer login reports with the fields, and every report is in the audit log', async () => {
    const jsonl = await runCli(['report', '--format', 'jsonl'], envFor(logins.reviewer));
    expect(jsonl.code, jsonl.err).toBe(0);
    const cards = jsonl.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(cards.every((x) => x.fields?.ID)).toBe(true);
    const audit = await runCli(['audit', '--json'], envFor(logins.reviewer));
    const reports = audit.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((e) => e.command === 'report');
    expect(reports.map((e) => e.counts)).toEqual([
      { cards: 4, personal: 0 },
      { cards: 4, personal: 1 },
    ]);
  });

  it('a macao_worker login enqueues, and a `work` process of that login recognizes the cards', async () => {
    await p.upload('w/', { count: 3, seed: 72, backRatio: 0 });
    const enq = await runCli(['enqueue', `s3://${p.bucket}/w/`], envFor(logins.worker));
    expect(enq.code, enq.err).toBe(0);
    const worker = spawnWorker(p, [], { DATABASE_URL: urlFor(logins.worker) });
    try {
      const recognized = async (): Promise<number> =>
        (
          await asOwner(
            "SELECT count(*)::int AS n FROM cards WHERE front_key LIKE 'w/%' AND outcome = 'recognized'",
          )
        ).rows[0].n as number;
      await until(async () => (await recognized()) === 3, 60_000, 'the worker to recognize 3 cards');
    } finally {
      worker.child.kill('SIGTERM');
    }
    expect(await worker.exited, worker.output()).toBe(0);
    expect(worker.output()).not.toMatch(/permission denied/);
  }, 90_000);
});
