import { EventEmitter } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import type { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../src/log.js';
import type { ResultsStore } from '../src/results/store.js';
import type { CardResult } from '../src/results/types.js';
import { ConcurrencyTuner } from '../src/worker/concurrencyTuner.js';
import { luaScript } from '../src/worker/luaScript.js';
import type { RateLimiter } from '../src/worker/rateLimiter.js';
import { closeWorker } from '../src/worker/shutdown.js';
import { recordStalledCards } from '../src/worker/stalledJobs.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('the Lua scripts', () => {
  const names = readdirSync(new URL('../src/worker/lua/', import.meta.url)).map((f) =>
    f.replace(/\.lua$/, ''),
  );

  it('are all there', () => {
    expect(names.sort()).toEqual(['decrease', 'depart', 'lockLeft', 'redepart', 'release', 'reserve']);
  });

  it.each(names)('%s.lua documents its KEYS, ARGV and reply; EVAL gets the code without them', (name) => {
    const file = readFileSync(new URL(`../src/worker/lua/${name}.lua`, import.meta.url), 'utf8');
    const header = file.split('\n').filter((l) => l.startsWith('--'));
    for (const part of ['KEYS[1]', 'ARGV[1]', 'Reply']) expect(header.join('\n'), part).toContain(part);
    const script = luaScript(name);
    expect(script.startsWith('--')).toBe(false);
    expect(script.trim().length).toBeGreaterThan(50);
    expect(file.endsWith(script)).toBe(true);
  });
});

describe('the concurrency tuner', () => {
  const limiter = (qps: number) => ({ effectiveQps: async () => qps }) as unknown as RateLimiter;

  it('starts from the rate at a latency of 1 s, within 2 and the maximum, or the fixed one', () => {
    expect(new ConcurrencyTuner(limiter(5), { qps: 5, fixed: undefined, max: 256 }).initial).toBe(10);
    expect(new ConcurrencyTuner(limiter(0.1), { qps: 0.1, fixed: undefined, max: 256 }).initial).toBe(3);
    expect(new ConcurrencyTuner(limiter(500), { qps: 500, fixed: undefined, max: 256 }).initial).toBe(256);
    expect(new ConcurrencyTuner(limiter(5), { qps: 5, fixed: 1, max: 256 }).initial).toBe(1);
  });

  it('follows the shared rate × the observed latency every 2 s', async () => {
    vi.useFakeTimers();
    const tuner = new ConcurrencyTuner(limiter(10), { qps: 10, fixed: undefined, max: 256 });
    const worker = { concurrency: tuner.initial };
    tuner.start(worker);
    tuner.observe(2000); // 1,000 ms weighted with 2,000: 1,100 ms
    await vi.advanceTimersByTimeAsync(1999);
    expect(worker.concurrency).toBe(17);
    await vi.advanceTimersByTimeAsync(1);
    expect(worker.concurrency).toBe(Math.ceil((10 * 1100 * 1.5) / 1000) + 2);
    tuner.stop();
    tuner.observe(10_000);
    await vi.advanceTimersByTimeAsync(4000);
    expect(worker.concurrency).toBe(19);
  });

  it('leaves a fixed concurrency alone', async () => {
    vi.useFakeTimers();
    const tuner = new ConcurrencyTuner(limiter(10), { qps: 10, fixed: 4, max: 256 });
    const worker = { concurrency: 4 };
    tuner.start(worker);
    tuner.observe(5000);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(worker.concurrency).toBe(4);
  });
});

describe('shutdown', () => {
  /** A worker whose first close() never ends, as BullMQ's can just after a Redis reconnect. */
  const hangingParts = () => {
    const worker = {
      close: vi.fn((force?: boolean) => (force ? Promise.resolve() : new Promise<void>(() => undefined))),
      cancelAllJobs: vi.fn(),
    };
    const queue = { close: vi.fn(async () => undefined) };
    const connections = [{ disconnect: vi.fn() }, { disconnect: vi.fn() }];
    const parts = {
      worker: worker as unknown as Worker,
      queue: queue as unknown as Queue,
      connections: connections as unknown as Redis[],
      log: silentLogger,
      inFlight: () => 2,
    };
    return { worker, queue, connections, parts };
  };

  it('cancels the cards in flight after the grace period, stops waiting for a hung close, and closes the connections', async () => {
    vi.useFakeTimers();
    const { worker, queue, connections, parts } = hangingParts();
    let done = false;
    void closeWorker(parts, 1000).then(() => {
      done = true;
    });
    expect(worker.close).toHaveBeenCalledWith();
    await vi.advanceTimersByTimeAsync(999);
    expect(worker.cancelAllJobs).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(worker.cancelAllJobs).toHaveBeenCalledWith('shutdown');
    await vi.advanceTimersByTimeAsync(9999);
    expect(worker.close).toHaveBeenCalledTimes(1);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(worker.close).toHaveBeenLastCalledWith(true);
    expect(queue.close).toHaveBeenCalled();
    expect(done).toBe(true);
    for (const c of connections) expect(c.disconnect).toHaveBeenCalled();
  });

  it('cancels nothing when the cards finish within the grace period', async () => {
    vi.useFakeTimers();
    const { worker, connections, parts } = hangingParts();
    worker.close.mockImplementation(async () => undefined);
    await closeWorker(parts, 1000);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(worker.cancelAllJobs).not.toHaveBeenCalled();
    expect(worker.close).toHaveBeenCalledTimes(1);
    for (const c of connections) expect(c.disconnect).toHaveBeenCalled();
  });
});

describe('stalled cards', () => {
  const job = {
    id: 'v1',
    attemptsMade: 2,
    data: { runId: 'r1', bucket: 'b', frontKey: 'f.jpg', frontEtag: 'e' },
  };

  it('records failed (Worker.Stalled) a card BullMQ failed for stalling too often, and nothing else', async () => {
    const worker = new EventEmitter();
    const recorded: CardResult[] = [];
    const store = { recordOutcome: async (r: CardResult) => recorded.push(r) } as unknown as ResultsStore;
    const events: [string, string | undefined][] = [];
    recordStalledCards(worker as unknown as Worker, store, silentLogger, (e, code) => events.push([e, code]));
    worker.emit('failed', job, new Error('FailedOperation.OcrFailed'));
    worker.emit('failed', undefined, new Error('job stalled more than allowable limit'));
    worker.emit('failed', job, new Error('job stalled more than allowable limit'));
    await vi.waitFor(() => expect(events).toHaveLength(1));
    expect(recorded).toEqual([
      {
        versionId: 'v1',
        runId: 'r1',
        bucket: 'b',
        frontKey: 'f.jpg',
        frontEtag: 'e',
        backKey: undefined,
        backEtag: undefined,
        attempts: 2,
        outcome: 'failed',
        errorCode: 'Worker.Stalled',
        errorMessage: 'job stalled more than allowable limit',
      },
    ]);
    expect(events).toEqual([['failed', 'Worker.Stalled']]);
  });
});
