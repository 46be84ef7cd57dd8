import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli } from './support/cli.js';
import { type Pipeline, pipelineEnv, startPipeline } from './support/pipeline.js';

/** `MACAO_OCR_RETAIN_DAYS`: at the end of a `run`, cards finished longer ago lose their personal data. */
describe('retention after a run', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({ redisUrl: inject('redisUrl'), databaseUrl: inject('databaseUrl') });
  });
  afterAll(async () => {
    await p?.close();
  });

  it('purges the cards finished more than MACAO_OCR_RETAIN_DAYS ago, and only those', async () => {
    await p.upload('old/', { count: 3, seed: 81, backRatio: 0 });
    await p.upload('new/', { count: 2, seed: 82, backRatio: 0 });
    const first = await runCli(['run', `s3://${p.bucket}/old/`], pipelineEnv(p));
    expect(first.code, first.err).toBe(0);
    // Those cards were finished 40 days ago.
    await p.store.pool.query(
      `UPDATE cards SET finished_at = now() - interval '40 days' WHERE front_key LIKE 'old/%'`,
    );
    const second = await runCli(['run', `s3://${p.bucket}/new/`], {
      ...pipelineEnv(p),
      MACAO_OCR_RETAIN_DAYS: '30',
    });
    expect(second.code, second.err).toBe(0);
    expect(second.out).toContain(
      'retention (MACAO_OCR_RETAIN_DAYS=30): purged 3 cards finished more than 30 days ago',
    );
    const { rows } = await p.store.pool.query<{ prefix: string; purged: number; with_id: number }>(
      `SELECT split_part(front_key, '/', 1) AS prefix, count(*) FILTER (WHERE purged_at IS NOT NULL)::int AS purged,
              count(id_number)::int AS with_id
         FROM cards GROUP BY 1 ORDER BY 1`,
    );
    expect(rows).toEqual([
      { prefix: 'new', purged: 0, with_id: 2 },
      { prefix: 'old', purged: 3, with_id: 0 },
    ]);
    const audit = (await runCli(['audit', '--json'], pipelineEnv(p))).out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(audit.filter((e) => e.command === 'purge').map((e) => e.counts.cards)).toEqual([3]);
  });
});
