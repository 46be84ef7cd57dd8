import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createRedis } from '../src/queue.js';
import { quotaKeys } from '../src/redisKeys.js';
import { backoffDelayMs } from '../src/worker/backoff.js';
import { ByteBudget } from '../src/worker/byteBudget.js';
import { lockLeftMs } from '../src/worker/lockLeft.js';
import { RateLimiter } from '../src/worker/rateLimiter.js';

describe('backoff', () => {
  it('grows exponentially, is capped, and keeps half of it fixed', () => {
    const opts = { baseMs: 1000, capMs: 10_000 };
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelayMs(n, opts, () => 1))).toEqual([
      1000, 2000, 4000, 8000, 10_000, 10_000,
    ]);
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelayMs(n, opts, () => 0))).toEqual([
      500, 1000, 2000, 4000, 5000, 5000,
    ]);
    expect(backoffDelayMs(3, { ...opts, jitter: 0 }, () => 0.3)).toBe(4000);
    expect(backoffDelayMs(3, { ...opts, jitter: 1 }, () => 0.25)).toBe(1000);
  });
});

describe('byte budget', () => {
  it('holds back what does not fit, in order, and lets a single oversized request through alone', async () => {
    const b = new ByteBudget(100);
    const r1 = await b.acquire(60);
    const order: string[] = [];
    const p2 = b.acquire(50).then((r) => {
      order.push('50');
      return r;
    });
    const p3 = b.acquire(10).then((r) => {
      order.push('10');
      return r;
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(order).toEqual([]); // 10 would fit, but waits its turn behind 50
    r1();
    const [r2, r3] = await Promise.all([p2, p3]);
    expect(order).toEqual(['50', '10']);
    expect(b.inUse).toBe(60);
    r2();
    r3();
    r3(); // releasing twice gives back once
    expect(b.inUse).toBe(0);
    const huge = await b.acquire(10_000);
    expect(b.inUse).toBe(100);
    huge();
  });
});

describe('the shared rate limiter (real Redis)', () => {
  let a: Redis;
  let b: Redis;
  const queueName = `test-${randomBytes(4).toString('hex')}`;
  const keys = quotaKeys('{macao-ocr}', `account-${queueName}`);
  const key = keys.rate;
  beforeAll(() => {
    a = createRedis(inject('redisUrl'));
    b = createRedis(inject('redisUrl'));
  });
  afterAll(async () => {
    await a.del(keys.rate, keys.rateDepartures);
    a.disconnect();
    b.disconnect();
  });

  it('spaces calls from two connections 1/rate apart, together', async () => {
    const l1 = new RateLimiter(a, { keys, maxQps: 20, guardMs: 0 });
    const l2 = new RateLimiter(b, { keys, maxQps: 20, guardMs: 0 });
    const times: number[] = [];
    const t0 = Date.now();
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        (i % 2 ? l1 : l2).acquire().then(() => times.push(Date.now() - t0)),
      ),
    );
    times.sort((x, y) => x - y);
    // 30 slots 50 ms apart: the last one about 1.45 s after the first, none bunched.
    expect(times.at(-1)!).toBeGreaterThanOrEqual(1400);
    for (let i = 20; i < times.length; i++) expect(times[i]! - times[i - 20]!).toBeGreaterThanOrEqual(950);
  });

  it('takes slots only shortly before they are due, so a stalled process cannot sit on seconds of quota', async () => {
    await a.del(key);
    const l1 = new RateLimiter(a, { keys, maxQps: 20, guardMs: 0 });
    const l2 = new RateLimiter(b, { keys, maxQps: 20, guardMs: 0 });
    // 40 calls at 20/s: 2 s of schedule. Had each taken its slot at the start, the schedule would
    // run 2 s ahead; it never runs further ahead than the horizon (max(100 ms, 2 slots) = 100 ms)
    // plus a slot.
    let aheadMax = 0;
    let done = false;
    const watch = (async () => {
      while (!done) {
        const [[sec, usec], tat] = await Promise.all([a.time(), a.hget(key, 'tat')]);
        if (tat) aheadMax = Math.max(aheadMax, Number(tat) - (Number(sec) * 1000 + Number(usec) / 1000));
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? l1 : l2).acquire()));
    const elapsed = Date.now() - t0;
    done = true;
    await watch;
    expect(elapsed).toBeGreaterThanOrEqual(1900);
    expect(aheadMax).toBeGreaterThan(50);
    expect(aheadMax).toBeLessThanOrEqual(100 + 50 + 5);
  });

  it('a call waiting in line leaves at once when its signal aborts, and takes no slot', async () => {
    await a.del(key);
    const l = new RateLimiter(a, { keys, maxQps: 5, guardMs: 0 });
    const ahead = Array.from({ length: 5 }, () => l.acquire());
    const ctl = new AbortController();
    const waiting = l.acquire(ctl.signal);
    const t = Date.now();
    setTimeout(() => ctl.abort(new Error('shutting down')), 50);
    await expect(waiting).rejects.toThrow('shutting down');
    expect(Date.now() - t).toBeLessThan(250); // its turn in line would have come at ~400 ms
    await Promise.all(ahead);
    // The five calls ahead took five slots (200 ms apart); the aborted one none: the next is due about one slot later.
    const tat = Number(await a.hget(key, 'tat'));
    const [sec, usec] = await a.time();
    expect(tat - (Number(sec) * 1000 + Number(usec) / 1000)).toBeLessThanOrEqual(200 + 5);
  });

  it('steps down a little on a lone throttle, multiplies down on the next (once per cool-off), cools to the floor on a storm, and climbs back', async () => {
    await a.del(key);
    const l = new RateLimiter(a, { keys, maxQps: 20, guardMs: 0, increasePerSec: 10 });
    expect(await l.effectiveQps()).toBe(20);
    let r = await l.throttled(0.5);
    expect(r.lone).toBe(true);
    expect(r.qps).toBeCloseTo(19, 0); // x0.95: our clock and the provider's disagreed about one call
    r = await l.throttled(0.5);
    expect(r.lone).toBe(false);
    expect(r.qps).toBeCloseTo(9.5, 0); // a second one soon after: the quota is lower
    r = await l.throttled(0.5);
    expect(r.qps).toBeCloseTo(9.5, 0); // same event: within the cool-off
    await new Promise((r) => setTimeout(r, 1100));
    const afterClimb = await l.effectiveQps();
    expect(afterClimb).toBeGreaterThan(18);
    expect((await l.throttled(0.5)).lone).toBe(false); // still within 2 s of the last one
    expect(await l.coolDown()).toBeCloseTo(0.4, 1); // floor: max(0.2, 20 / 50)
    await new Promise((r) => setTimeout(r, 500));
    expect(await l.effectiveQps()).toBeGreaterThan(4);
  });

  it("keeps to the provider's rule by when calls really leave, even when the schedule would let them bunch", async () => {
    await a.del(keys.rate, keys.rateDepartures);
    const l = new RateLimiter(a, { keys, maxQps: 10 });
    const times: number[] = [];
    const t0 = Date.now();
    const take = async (n: number): Promise<void> => {
      await Promise.all(Array.from({ length: n }, () => l.acquire().then(() => times.push(Date.now() - t0))));
    };
    await take(10);
    // The schedule is lost (expired, or another version's): on its own it would let the next
    // ten go at once, eleven calls within a second. The record of departures holds them back.
    await a.del(key);
    await take(10);
    times.sort((x, y) => x - y);
    for (let i = 10; i < times.length; i++) expect(times[i]! - times[i - 10]!).toBeGreaterThanOrEqual(1000);
    expect(await a.llen(keys.rateDepartures)).toBe(10);
  });

  it("reads what is left of a job lock in one call: ours, another worker's, none, no expiry", async () => {
    const lock = `${key}:job-1:lock`;
    await a.set(lock, 'token-ours', 'PX', 5000);
    const left = await lockLeftMs(a, lock, 'token-ours');
    expect(left).toBeGreaterThan(4000);
    expect(left).toBeLessThanOrEqual(5000);
    expect(await lockLeftMs(a, lock, 'token-theirs')).toBe(0);
    await a.set(lock, 'token-ours');
    expect(await lockLeftMs(a, lock, 'token-ours')).toBe(Number.POSITIVE_INFINITY);
    await a.del(lock);
    expect(await lockLeftMs(a, lock, 'token-ours')).toBe(0);
  });

  it('reports the rate it allows, less the guard: 50/s with 30 ms is 48.5 calls a second', async () => {
    await a.del(key);
    expect(await new RateLimiter(a, { keys, maxQps: 50 }).effectiveQps()).toBeCloseTo(
      1000 / (20 + 30 / 50),
      6,
    );
    expect(await new RateLimiter(a, { keys, maxQps: 50, guardMs: 0 }).effectiveQps()).toBe(50);
  });

  it('refuses a nonsensical rate', () => {
    expect(() => new RateLimiter(a, { keys, maxQps: 0 })).toThrow('`qps` must be a number > 0, got `0`');
  });
});
