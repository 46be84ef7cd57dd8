import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { queuedCount } from './support/cardQueue.js';
import { CREDENTIAL, outcomes, type Pipeline, startPipeline } from './support/pipeline.js';
import { spawnEmulator, spawnWorker, until, type WorkerProcess } from './support/processes.js';

/** `macao-ocr work` as separate processes: crashes, signals, and the shared rate. */
describe('worker processes', () => {
  let p: Pipeline;
  let cards: number;
  const procs: WorkerProcess[] = [];
  const spawn = (...a: Parameters<typeof spawnWorker> extends [unknown, ...infer R] ? R : never) => {
    const w = spawnWorker(p, ...a);
    procs.push(w);
    return w;
  };

  beforeAll(async () => {
    p = await startPipeline({ redisUrl: inject('redisUrl'), databaseUrl: inject('databaseUrl') });
    const objs = await p.upload('proc/', { count: 40, seed: 21, backRatio: 0.3 });
    cards = objs.filter((o) => o.side === 'front').length;
  });
  afterAll(async () => {
    for (const w of procs) w.child.kill('SIGKILL');
    await p?.close();
  });
  beforeEach(() => p.reset());

  it('after kill -9 mid-run, every card ends terminal with one row, and no card is billed twice beyond those in flight', async () => {
    p.emulator.configure({ latencyMs: [300, 600] });
    // A window of 6: most cards wait in the store, and the second worker refills from there.
    const run = await p.enqueue('proc/', { window: 6 });
    expect(await queuedCount(p.queue)).toBe(6);
    const first = spawn(['--concurrency', '6', '--qps', '30', '--lock-ms', '3000']);
    await until(() => p.emulator.stats().billed >= 8, 30_000, 'some cards to be recognized');
    const active = await p.queue.getActiveCount();
    first.child.kill('SIGKILL');
    await first.exited;
    const second = spawn(['--concurrency', '6', '--qps', '30', '--lock-ms', '3000']);
    await p.drained(90_000);
    second.child.kill('SIGTERM');
    await second.exited;
    const rows = await p.store.pool.query(
      'SELECT version_id, count(*)::int AS n FROM cards GROUP BY 1 HAVING count(*) > 1',
    );
    expect(rows.rows).toEqual([]);
    expect(await outcomes(p.store, run.runId!)).toEqual({ recognized: cards });
    const stats = p.emulator.stats();
    expect(stats.billed).toBeGreaterThanOrEqual(cards);
    expect(stats.billed).toBeLessThanOrEqual(cards + active);
  });

  it('on SIGTERM finishes the cards in flight, takes no new ones, and exits 0', async () => {
    p.emulator.configure({ latencyMs: [1500, 1500] });
    const run = await p.enqueue('proc/');
    const w = spawn(['--concurrency', '4', '--qps', '50', '--grace-ms', '10000']);
    await until(async () => (await p.queue.getActiveCount()) === 4, 30_000, 'four cards in flight');
    await new Promise((r) => setTimeout(r, 300));
    // Answers take 1.5 s: the four calls are still on their way when the signal comes.
    const inFlight = 4;
    expect(p.emulator.stats().calls).toBe(0);
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    const byOutcome = await outcomes(p.store, run.runId!);
    expect(byOutcome.recognized).toBe(inFlight);
    expect(byOutcome.failed).toBeUndefined();
    expect(byOutcome.pending).toBe(cards - inFlight);
    expect(await queuedCount(p.queue)).toBe(cards - inFlight);
    expect(p.emulator.stats().calls).toBe(inFlight);
  });

  it('when the grace period runs out, aborts the calls in flight: their cards go back to the queue, no attempt spent', async () => {
    // Answers take 8 s; the grace period is 1 s. An emulator of its own: the aborted calls are
    // answered (to nobody) after this test, and must not be counted in another's stats.
    const emu = await spawnEmulator(CREDENTIAL, ['--latency-ms', '8000-8000']);
    try {
      const run = await p.enqueue('proc/');
      const w = spawn(['--concurrency', '4', '--qps', '50', '--grace-ms', '1000'], { OCR_ENDPOINT: emu.url });
      await until(async () => (await emu.stats()).received === 4, 30_000, 'four calls at the emulator');
      w.child.kill('SIGTERM');
      expect(await w.exited).toBe(0);
      // It did not wait for the answers: none has come yet.
      expect(await emu.stats()).toMatchObject({ received: 4, calls: 0 });
      expect(w.output()).toContain('grace period over: cancelling the cards still in flight');
      const counts = await p.queue.getJobCounts(
        'waiting',
        'prioritized',
        'delayed',
        'active',
        'failed',
        'completed',
      );
      expect(counts).toMatchObject({ active: 0, failed: 0, completed: 0 });
      expect(counts.waiting! + counts.prioritized! + counts.delayed!).toBe(cards);
      const jobs = await p.queue.getJobs(['waiting', 'prioritized', 'delayed']);
      expect(jobs.filter((j) => j.attemptsMade > 0)).toEqual([]);
      expect(await outcomes(p.store, run.runId!)).toEqual({ pending: cards });
    } finally {
      emu.child.kill('SIGTERM');
    }
  });

  it('a second signal exits at once; the cards it had in flight are run again by another worker', async () => {
    const emu = await spawnEmulator(CREDENTIAL, ['--latency-ms', '8000-8000']);
    const run = await p.enqueue('proc/');
    try {
      const w = spawn(['--concurrency', '4', '--qps', '50', '--grace-ms', '30000', '--lock-ms', '3000'], {
        OCR_ENDPOINT: emu.url,
      });
      await until(async () => (await p.queue.getActiveCount()) === 4, 30_000, 'four cards in flight');
      w.child.kill('SIGTERM');
      await until(() => w.output().includes('SIGTERM: taking no new cards'), 10_000, 'the first signal');
      w.child.kill('SIGTERM');
      expect(await w.exited).toBe(143);
      expect((await emu.stats()).calls).toBe(0);
    } finally {
      emu.child.kill('SIGTERM');
    }
    // Their locks lapse (3 s) and the stalled-job check gives them out again.
    const next = spawn(['--concurrency', '4', '--qps', '50', '--lock-ms', '3000']);
    await p.drained(60_000);
    next.child.kill('SIGTERM');
    expect(await next.exited).toBe(0);
    expect(await outcomes(p.store, run.runId!)).toEqual({ recognized: cards });
  });

  it('two worker processes together never exceed the shared rate', async () => {
    // The provider is a system of its own: an emulator in its own process counts arrivals on a
    // clock and an event loop nothing else in this test holds up.
    const emu = await spawnEmulator(CREDENTIAL, ['--qps', '10']);
    try {
      const run = await p.enqueue('proc/');
      // The guard (OCR_RATE_GUARD_MS) covers how much the delay between a call's departure and its
      // count at the provider varies. Here that is the scheduling of five busy processes on two
      // cores beside another test file: with the default 30 ms, CI once counted 11 calls in one
      // second (a call counted 20 ms later than the one ten before it is enough at a quota of 10).
      // What this test shows is that two processes
      // share one rate (without it they would send 20 a second); the default guard's fit to a real
      // network is measured by bench/worker (0-0.31% refused at 30 ms).
      const env = { OCR_ENDPOINT: emu.url, OCR_RATE_GUARD_MS: '100' };
      const a = spawn(['--qps', '10', '--concurrency', '8'], env);
      const b = spawn(['--qps', '10', '--concurrency', '8'], env);
      await p.drained(90_000);
      a.child.kill('SIGTERM');
      b.child.kill('SIGTERM');
      await Promise.all([a.exited, b.exited]);
      const stats = await emu.stats();
      expect(await outcomes(p.store, run.runId!)).toEqual({ recognized: cards });
      expect(stats.calls).toBe(cards);
      expect(stats.peakPerSecond).toBeLessThanOrEqual(10);
      expect(stats.byCode.RequestLimitExceeded ?? 0).toBe(0);
    } finally {
      emu.child.kill('SIGTERM');
    }
  });

  it('workers of two queues with one account share its quota: together never above OCR_QPS', async () => {
    const emu = await spawnEmulator(CREDENTIAL, ['--qps', '10']);
    const other = await startPipeline({ redisUrl: inject('redisUrl'), databaseUrl: inject('databaseUrl') });
    try {
      await other.upload('proc/', { count: 40, seed: 22, backRatio: 0.3 });
      const [runA, runB] = await Promise.all([p.enqueue('proc/'), other.enqueue('proc/')]);
      const total = runA.counts.enqueued + runB.counts.enqueued;
      // One account (the same SecretId, the same OCR_QUOTA_KEY), two queues, two stores: each
      // worker is told 10/s, and so is the account.
      const env = { OCR_ENDPOINT: emu.url, OCR_RATE_GUARD_MS: '100', OCR_QUOTA_KEY: `shared-${p.queueName}` };
      const a = spawn(['--qps', '10', '--concurrency', '8'], env);
      const b = spawnWorker(other, ['--qps', '10', '--concurrency', '8'], env);
      procs.push(b);
      await Promise.all([p.drained(90_000), other.drained(90_000)]);
      a.child.kill('SIGTERM');
      b.child.kill('SIGTERM');
      await Promise.all([a.exited, b.exited]);
      const stats = await emu.stats();
      expect(await outcomes(p.store, runA.runId!)).toEqual({ recognized: runA.counts.enqueued });
      expect(await outcomes(other.store, runB.runId!)).toEqual({ recognized: runB.counts.enqueued });
      expect(stats.calls).toBe(total);
      expect(stats.peakPerSecond).toBeLessThanOrEqual(10);
      expect(stats.byCode.RequestLimitExceeded ?? 0).toBe(0);
    } finally {
      emu.child.kill('SIGTERM');
      await other.close();
    }
  });
});
