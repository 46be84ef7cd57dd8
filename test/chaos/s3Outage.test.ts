import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createS3Client } from '../../src/storage/s3.js';
import { measureRun, printFigures, startChaosPipeline } from '../support/chaos.js';
import type { Pipeline } from '../support/pipeline.js';
import { until } from '../support/processes.js';
import { type CachedSample, fronts } from '../support/specimenCache.js';
import { startTcpProxy, type TcpProxy } from '../support/tcpProxy.js';

/**
 * Chaos: the object store unreachable for 10 s in the middle of a 500-card run. The workers reach
 * s3rver through a TCP proxy that the test takes down (connections refused, open ones cut); the
 * presigned URLs name the proxy too, so the emulator's downloads fail as well.
 */
describe('chaos: the S3 endpoint down for 10 s', () => {
  let p: Pipeline;
  let proxy: TcpProxy;
  let samples: CachedSample[];

  beforeAll(async () => {
    ({ p, samples } = await startChaosPipeline('s3/', {
      redisUrl: inject('redisUrl'),
      databaseUrl: inject('databaseUrl'),
    }));
    proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(p.s3server.endpoint).port) });
  }, 180_000);
  afterAll(async () => {
    await p?.close();
    await proxy?.close();
  });

  it('retries and completes the run', { timeout: 180_000 }, async () => {
    const started = Date.now();
    const cards = fronts(samples).map((o) => `s3/${o.key}`);
    const run = await p.enqueue('s3/');
    expect(run.counts.enqueued).toBe(cards.length);
    const s3 = createS3Client({
      endpoint: proxy.url,
      forcePathStyle: true,
      credentials: p.s3server.credentials,
    });
    const workers = [
      await p.startWorker({ s3, qps: 40, concurrency: 12 }),
      await p.startWorker({ s3, qps: 40, concurrency: 12 }),
    ];
    await until(() => p.emulator.stats().billed >= 150, 60_000, '150 cards billed');
    await proxy.down();
    const downAt = Date.now();
    const before = p.emulator.stats();
    await new Promise((r) => setTimeout(r, 10_000));
    const during = p.emulator.stats();
    await proxy.up();
    const outageMs = Date.now() - downAt;
    await p.drained(150_000);
    for (const w of workers) await w.close(5000);
    s3.destroy();

    const figures = await measureRun(p, run.runId!, cards);
    const { rows } = await p.store.pool.query<{ code: string; n: number }>(
      'SELECT code, count(*)::int AS n FROM api_calls WHERE run_id = $1 GROUP BY 1 ORDER BY 1',
      [run.runId],
    );
    const attempts = await p.store.pool.query<{ max: number }>(
      'SELECT max(attempts)::int AS max FROM cards WHERE run_id = $1',
      [run.runId],
    );
    printFigures('s3 down 10 s', {
      ...figures,
      outageMs,
      downloadErrorsDuringOutage:
        (during.byCode['FailedOperation.DownLoadError'] ?? 0) -
        (before.byCode['FailedOperation.DownLoadError'] ?? 0),
      callCodes: Object.fromEntries(rows.map((r) => [r.code, r.n])),
      maxAttempts: attempts.rows[0]?.max,
      wallMs: Date.now() - started,
    });
    expect(figures.byOutcome).toEqual({ recognized: cards.length });
    expect(figures.lost).toBe(0);
    expect(figures.duplicateRows).toBe(0);
    expect(figures.billed).toBe(cards.length);
  });
});
