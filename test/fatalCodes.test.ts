import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { pauseReason, resumeQueue } from '../src/worker/circuitBreaker.js';
import { outcomes, type Pipeline, startPipeline } from './support/pipeline.js';
import { until } from './support/processes.js';

/**
 * A code that answers every card alike (our request's shape, the account, the action) must stop
 * the run, not reject a whole bucket one paid call at a time: the run pauses after a few calls,
 * no card is rejected or failed, and `resume` after the fix finishes every card.
 */

const CARDS = 10;

describe('codes that answer every card alike', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({ redisUrl: inject('redisUrl'), databaseUrl: inject('databaseUrl') });
    await p.upload('all/', { count: CARDS, seed: 41, backRatio: 0 });
  });
  beforeEach(async () => {
    await p.reset();
  });
  afterAll(async () => {
    await p?.close();
  });

  it.each(['InvalidParameter.ConfigFormatError', 'ActionOffline', 'UnauthorizedOperation'])(
    '%s pauses the run after at most 3 calls, rejects and fails nothing, and resume finishes it',
    async (code) => {
      p.emulator.configure({ faults: { [code]: 1 } });
      const run = await p.enqueue('all/');
      const worker = await p.startWorker({ concurrency: 2 });
      try {
        await until(() => p.queue.isPaused(), 20_000, 'the queue to pause');
        await new Promise((r) => setTimeout(r, 1000));
        const calls = p.emulator.stats().calls;
        expect(calls).toBeLessThanOrEqual(3);
        expect((await pauseReason(p.queue, p.redis))?.code).toBe(code);
        expect((await p.store.getRun(run.runId!))?.state).toBe('paused');
        const paused = await outcomes(p.store, run.runId!);
        expect(paused.rejected).toBeUndefined();
        expect(paused.failed).toBeUndefined();
        expect(paused.pending).toBe(CARDS);

        p.emulator.configure({ faults: {} });
        await resumeQueue(p.queue, p.redis, p.store);
        await p.drained(30_000);
        expect(await outcomes(p.store, run.runId!)).toEqual({ recognized: CARDS });
      } finally {
        await worker.close();
      }
    },
  );
});
