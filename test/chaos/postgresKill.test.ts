import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { measureRun, printFigures, startChaosPipeline } from '../support/chaos.js';
import type { Pipeline } from '../support/pipeline.js';
import { spawnWorker, until, type WorkerProcess } from '../support/processes.js';
import { startThrowawayPostgres } from '../support/services.js';
import { type CachedSample, fronts } from '../support/specimenCache.js';

/**
 * Chaos: every PostgreSQL connection killed (`pg_terminate_backend`) three times during a 500-card
 * run of two `macao-ocr work` processes on `DATABASE_URL`. The cluster is this file's own.
 */
describe('chaos: PostgreSQL connections terminated mid-run', () => {
  let server: { url: string; stop: () => void };
  let p: Pipeline;
  let samples: CachedSample[];
  const procs: WorkerProcess[] = [];

  beforeAll(async () => {
    server = await startThrowawayPostgres();
    ({ p, samples } = await startChaosPipeline('pg/', {
      redisUrl: inject('redisUrl'),
      databaseUrl: server.url,
      backend: 'postgres',
      schema: 'public',
    }));
  }, 180_000);
  afterAll(async () => {
    for (const w of procs) w.child.kill('SIGKILL');
    await p?.close();
    server?.stop();
  });

  it('workers reconnect and no outcome is lost', { timeout: 180_000 }, async () => {
    const started = Date.now();
    const cards = fronts(samples).map((o) => `pg/${o.key}`);
    const run = await p.enqueue('pg/');
    expect(run.counts.enqueued).toBe(cards.length);
    for (let i = 0; i < 2; i++) {
      procs.push(
        spawnWorker(p, ['--concurrency', '12', '--qps', '40', '--lock-ms', '3000'], {
          DATABASE_URL: server.url,
          MACAO_OCR_DATA_DIR: '/nonexistent/never-used-with-DATABASE_URL',
        }),
      );
    }
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    const terminations: { atBilled: number; terminated: number }[] = [];
    for (const at of [100, 200, 300]) {
      await until(() => p.emulator.stats().billed >= at, 90_000, `${at} cards billed`);
      const { rows } = await admin.query<{ n: number }>(
        `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
         WHERE pid <> pg_backend_pid() AND datname = current_database() AND backend_type = 'client backend'`,
      );
      terminations.push({ atBilled: p.emulator.stats().billed, terminated: rows[0]?.n ?? 0 });
    }
    await admin.end();
    await p.drained(150_000);
    for (const w of procs) w.child.kill('SIGTERM');
    for (const w of procs) expect(await w.exited).toBe(0);

    const figures = await measureRun(p, run.runId!, cards);
    printFigures('postgres backends terminated x3', {
      ...figures,
      terminations,
      wallMs: Date.now() - started,
    });
    expect(terminations.every((t) => t.terminated > 0)).toBe(true);
    expect(figures.byOutcome).toEqual({ recognized: cards.length });
    expect(figures.lost).toBe(0);
    expect(figures.duplicateRows).toBe(0);
    expect(figures.billed).toBe(cards.length);
    // The call ledger kept every call.
    expect(figures.ledgerCalls).toBe(figures.calls);
  });
});
