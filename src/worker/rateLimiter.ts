import type { Redis } from 'ioredis';

/**
 * One request rate for every worker process on every machine, kept in Redis. Each outbound API
 * call reserves the next slot of a GCRA schedule (slots 1/rate apart, no burst) in one atomic
 * script, shortly before the slot is due, then sleeps until it: calls leave evenly spaced
 * whatever the number of workers.
 *
 * The rate itself adapts (AIMD): a `RequestLimitExceeded` from the API multiplies it down (the
 * real quota is lower, or another system shares the account), a storm of transient errors cuts
 * it to a probe rate; it then climbs back linearly towards the configured maximum.
 */
export interface RateLimiterOptions {
  /** Redis key of the shared state (one per queue). */
  key: string;
  /** The configured maximum, `OCR_QPS`. */
  maxQps: number;
  /** The floor the rate never drops below; default max(0.2, maxQps / 50). */
  minQps?: number;
  /** Additive increase in requests per second, per second; default maxQps / 10 (back from 0.8× in 2 s). */
  increasePerSec?: number;
  /** A throttle within this many ms of the previous decrease is the same event; default 1,000. */
  decreaseCooldownMs?: number;
  /**
   * Share of {@link maxQps} kept in reserve; default 0.05. Calls leave exactly 1/rate apart, but
   * event-loop and network delays between the slot and the socket bunch some of them on arrival,
   * and the provider counts arrivals in any 1-second span: a margin of m absorbs about
   * m x 1,000 ms of such delay whatever the rate (3% let two busy processes put 11 calls in one
   * second at a quota of 10).
   */
  safetyMargin?: number;
}

// KEYS[1] state; ARGV: maxQps, minQps, increasePerSec, horizonMs. Returns {waitMs, rate, reserved}
// as strings: reserved '1', the caller owns the slot waitMs from now; '0', the schedule is booked
// beyond the horizon and nothing was taken: ask again in waitMs.
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local maxQ, minQ, inc, horizon = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local s = redis.call('HMGET', KEYS[1], 'tat', 'rate', 'at')
local tat = tonumber(s[1]) or now
local rate = tonumber(s[2]) or maxQ
local at = tonumber(s[3]) or now
rate = math.max(minQ, math.min(maxQ, rate + inc * (now - at) / 1000))
if tat < now then tat = now end
if tat - now > horizon then
  return {tostring(tat - now - horizon), tostring(rate), '0'}
end
redis.call('HSET', KEYS[1], 'tat', tostring(tat + 1000 / rate), 'rate', tostring(rate), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], 86400000)
return {tostring(tat - now), tostring(rate), '1'}
`;

// KEYS[1] state; ARGV: maxQps, minQps, increasePerSec, factor, cooldownMs. Returns the new rate.
const DECREASE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local maxQ, minQ, inc = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local factor, cooldown = tonumber(ARGV[4]), tonumber(ARGV[5])
local s = redis.call('HMGET', KEYS[1], 'rate', 'at', 'dec')
local rate = tonumber(s[1]) or maxQ
local at = tonumber(s[2]) or now
local dec = tonumber(s[3]) or 0
rate = math.max(minQ, math.min(maxQ, rate + inc * (now - at) / 1000))
if now - dec >= cooldown then
  rate = math.max(minQ, rate * factor)
  redis.call('HSET', KEYS[1], 'dec', tostring(now))
end
redis.call('HSET', KEYS[1], 'rate', tostring(rate), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], 86400000)
return tostring(rate)
`;

export class RateLimiter {
  private readonly redis: Redis;
  private readonly key: string;
  private readonly args: [number, number, number];
  private readonly cooldownMs: number;
  /** How far ahead of now a slot may be taken: max(100 ms, 2 slots at the maximum rate). */
  private readonly horizonMs: number;
  private line: Promise<unknown> = Promise.resolve();

  constructor(redis: Redis, opts: RateLimiterOptions) {
    if (!(opts.maxQps > 0)) throw new Error(`\`qps\` must be a number > 0, got \`${opts.maxQps}\``);
    this.redis = redis;
    this.key = opts.key;
    const maxQps = opts.maxQps * (1 - (opts.safetyMargin ?? 0.05));
    const minQps = Math.min(maxQps, opts.minQps ?? Math.max(0.2, opts.maxQps / 50));
    this.args = [maxQps, minQps, opts.increasePerSec ?? opts.maxQps / 10];
    this.cooldownMs = opts.decreaseCooldownMs ?? 1000;
    this.horizonMs = Math.max(100, 2000 / maxQps);
  }

  /**
   * Waits for this process's turn, then for a slot of the shared schedule no further than the
   * horizon ahead, then for the slot itself. Rejects if the signal aborts first (a slot already
   * taken is then lost: safe).
   *
   * Calls take slots only shortly before they are due: one call per process at a time asks
   * Redis, and only for a slot within max(100 ms, 2 slots) of now. A call that held a slot
   * seconds ahead (every card in flight did, before) and then woke late lost it: a process that
   * stalls (its start, when it takes ~80 jobs at once; CPU starvation) threw away every slot it
   * held, up to seconds of quota at once, while the other processes could not use them.
   */
  async acquire(signal?: AbortSignal): Promise<void> {
    // A process that stalls wakes its overdue calls all at once, and they would reach the
    // provider bunched together, above the rate. A call that wakes more than 25 ms (or a quarter
    // of a slot) late gives its slot up and takes a new one. 25 ms is about half of what the 5%
    // margin absorbs (~50 ms at any rate); 10 ms threw away a quarter of all slots on a loaded
    // 2-core machine (bench/worker), where 27% of wake-ups came more than 10 ms late.
    for (let tries = 0; ; tries++) {
      const [ms, rate, t0] = await untilAborted(
        this.inTurn(() => this.reserve(signal)),
        signal,
      );
      if (ms > 0) await sleep(ms, signal);
      const late = Date.now() - (t0 + Math.max(0, ms));
      if (late <= Math.max(25, 250 / rate) || tries >= 3) return;
    }
  }

  /** Runs `fn` after every earlier call of this process has had its turn (a FIFO line). */
  private inTurn<T>(fn: () => Promise<T>): Promise<T> {
    const turn = this.line.then(fn);
    this.line = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn;
  }

  /** Asks until a slot within the horizon is ours: [ms until it, the rate, when we asked]. */
  private async reserve(signal?: AbortSignal): Promise<[number, number, number]> {
    for (;;) {
      signal?.throwIfAborted();
      const t0 = Date.now();
      const [wait, rate, reserved] = (await this.redis.eval(
        ACQUIRE,
        1,
        this.key,
        ...this.args,
        this.horizonMs,
      )) as [string, string, string];
      if (reserved === '1') return [Number(wait), Number(rate), t0];
      await sleep(Math.max(1, Number(wait)), signal);
    }
  }

  /** The API said the rate is too high: every worker slows down (multiplicative decrease). */
  async throttled(factor = 0.8): Promise<number> {
    return Number(await this.redis.eval(DECREASE, 1, this.key, ...this.args, factor, this.cooldownMs));
  }

  /** Cuts the rate to its floor: a storm of transient errors; it then probes its way back up. */
  async coolDown(): Promise<number> {
    return Number(await this.redis.eval(DECREASE, 1, this.key, ...this.args, 0, this.cooldownMs));
  }

  /** The effective rate now (requests per second), as every worker sees it. */
  async effectiveQps(): Promise<number> {
    const [rate, at] = await this.redis.hmget(this.key, 'rate', 'at');
    const [maxQ, minQ, inc] = this.args;
    if (!rate || !at) return maxQ;
    return Math.max(minQ, Math.min(maxQ, Number(rate) + (inc * (Date.now() - Number(at))) / 1000));
  }
}

/** `p`, or the signal's reason as soon as it aborts (a call waiting in line leaves at once). */
function untilAborted<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason ?? new Error('aborted'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason ?? new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
