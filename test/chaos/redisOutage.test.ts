import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { measureRun, printFigures, startChaosPipeline } from '../support/chaos.js';
import type { Pipeline } from '../support/pipeline.js';
import { until } from '../support/processes.js';
import { startThrowawayRedis, type ThrowawayRedis } from '../support/services.js';
import { type CachedSample, fronts } from '../support/specimenCache.js';

/**
 * Chaos: the queue's Redis stopped for 5 s in the middle of a 500-card run, then started again.
 * Redis is configured as BullMQ needs in production: append-only file, so a restart keeps the
 * queue (without persistence a restarted Redis has forgotten every job; the store still holds
 * them as pending and a second `enqueue` of the same source queues them again).
 */
describe('chaos: Redis stopped and started mid-run', () => {
  let redis: ThrowawayRedis;
  let p: Pipeline;
  let samples: CachedSample[];

  beforeAll(async () => {
    redis = await startThrowawayRedis({ persistent: true });
    ({ p, samples } = await startChaosPipeline('redis/', {
      redisUrl: redis.url,
      databaseUrl: inject('databaseUrl'),
    }));
  }, 180_000);
  afterAll(async () => {
    await p?.close();
    redis?.destroy();
  });

  it('completes after the outage: nothing lost, nothing duplicated', { timeout: 180_000 }, async () => {
    const started = Date.now();
    const cards = fronts(samples).map((o) => `redis/${o.key}`);
    const run = await p.enqueue('redis/');
    expect(run.counts.enqueued).toBe(cards.length);
    const workers = [
      await p.startWorker({ qps: 40, concurrency: 12, lockDurationMs: 3000, stalledIntervalMs: 1500 }),
      await p.startWorker({ qps: 40, concurrency: 12, lockDurationMs: 3000, stalledIntervalMs: 1500 }),
    ];
    await until(() => p.emulator.stats().billed >= 150, 60_000, '150 cards billed');
    const billedAtStop = p.emulator.stats().billed;
    redis.stop();
    const stoppedAt = Date.now();
    await new Promise((r) => setTimeout(r, 5000));
    // Calls in flight when Redis went away still finish; no new call may start without the shared rate.
    const billedDuringOutage = p.emulator.stats().billed - billedAtStop;
    redis.start();
    const outageMs = Date.now() - stoppedAt;
    await p.drained(150_000);
    for (const w of workers) await w.close(5000);

    const figures = await measureRun(p, run.runId!, cards);
    printFigures('redis stopped 5 s', {
      ...figures,
      outageMs,
      billedAtStop,
      billedDuringOutage,
      wallMs: Date.now() - started,
    });
    expect(figures.byOutcome).toEqual({ recognized: cards.length });
    expect(figures.lost).toBe(0);
    expect(figures.duplicateRows).toBe(0);
    // Cards whose call was answered while their job's lock lapsed are found in the ledger when
    // their job runs again: none is paid twice.
    expect(figures.billed).toBe(cards.length);
  });
});
