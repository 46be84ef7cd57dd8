import type { Redis } from 'ioredis';
import { DEFAULTS } from '../defaults.js';
import { redisScript } from './luaScript.js';

/**
 * One request rate for every worker process on every machine, kept in Redis, in two parts:
 *
 * - a schedule (GCRA, slots evenly spaced, no burst): a call takes the next slot shortly before
 *   it is due and sleeps until it, so calls leave evenly spaced whatever the number of workers;
 * - a record of when calls really left: at its slot, a call asks again and goes only if the
 *   provider's rule still holds with its real departure time (no more than `OCR_QPS` calls in any
 *   second, plus a guard for the time between our clock and the provider's counter); the time it
 *   goes is recorded there and then, and moved to when its request was really written if that
 *   came later (a new connection, a TLS handshake: {@link Slot.sent}). A call that woke or left
 *   late (a stalled process, a busy core) cannot bunch with the calls after it into more than the
 *   provider allows.
 *
 * The rate itself adapts (AIMD): a `RequestLimitExceeded` from the API multiplies it down (the
 * real quota is lower, or another system shares the account), a storm of transient errors cuts
 * it to a probe rate; it then climbs back linearly towards the configured maximum.
 */
export interface RateLimiterOptions {
  /** Redis keys of the shared state and of its record of departures (`cardQueueKeys`). */
  keys: { rate: string; rateDepartures: string };
  /** The configured maximum, `OCR_QPS`: no more than this many calls in any 1-second span. */
  maxQps: number;
  /** The floor the rate never drops below; default max(0.2, maxQps / 50). */
  minQps?: number;
  /** Additive increase in requests per second, per second; default maxQps / 10 (back from 0.8× in 2 s). */
  increasePerSec?: number;
  /** A throttle within this many ms of the previous decrease is the same event; default 1,000. */
  decreaseCooldownMs?: number;
  /** A throttle with none before it for this many ms is lone (a small step down); default 2,000. */
  loneMs?: number;
  /**
   * Milliseconds added to the provider's 1-second span; default `DEFAULTS.rateGuardMs`. A call's
   * departure is recorded in Redis just before it is sent and it is counted by the provider when
   * it arrives; the guard covers how much that delay may differ from one call to another
   * (event loop, network, the provider's front end). It costs guard / (1,000 + guard) of the rate.
   */
  guardMs?: number;
}

/** What a lone refusal (none in the 2 s before it) multiplies the rate by: back within half a second. */
const LONE_FACTOR = 0.95;

/** The Lua scripts of the shared rate; each file's header documents its KEYS, ARGV and reply. */
const RESERVE = redisScript('reserve');
const DEPART = redisScript('depart');
const REDEPART = redisScript('redepart');
const DECREASE = redisScript('decrease');

/**
 * A call that leaves more than this after its departure was stamped is moved to when it left.
 * A process's first call (cold code, a new connection) leaves 20-50 ms after its stamp, later
 * ones 2-4 ms (test/workerProcess.test.ts, two processes at a quota of 10): left at its stamp, a
 * late first call and a call on time ten calls later can reach the provider within one second.
 * Delays under a third of the default guard are left to the guard: moving every departure would
 * cost a Redis call per card on a busy worker (bench/worker).
 */
const RESTAMP_AFTER_MS = 10;

/** What {@link RateLimiter.acquire} hands the caller. */
export interface Slot {
  /** Call when the request has been handed to the network; a late one moves its departure. */
  sent: () => void;
}

export class RateLimiter {
  private readonly redis: Redis;
  private readonly key: string;
  private readonly sentKey: string;
  private readonly args: [number, number, number];
  private readonly cooldownMs: number;
  private readonly loneMs: number;
  /** How far ahead of now a slot may be taken: max(100 ms, 2 slots at the maximum rate). */
  private readonly horizonMs: number;
  /** The guard spread over the slots of one span: each slot is 1000/rate + this apart. */
  private readonly guardPerSlotMs: number;
  /** The provider's rule as depart.lua checks it: n + 1 departures never within spanMs. */
  private readonly window: [n: number, spanMs: number];
  private line: Promise<unknown> = Promise.resolve();

  constructor(redis: Redis, opts: RateLimiterOptions) {
    if (!(opts.maxQps > 0)) throw new Error(`\`qps\` must be a number > 0, got \`${opts.maxQps}\``);
    const guardMs = opts.guardMs ?? DEFAULTS.rateGuardMs;
    if (!(guardMs >= 0)) throw new Error(`\`guardMs\` must be a number >= 0, got \`${guardMs}\``);
    this.redis = redis;
    this.key = opts.keys.rate;
    this.sentKey = opts.keys.rateDepartures;
    const maxQps = opts.maxQps;
    const minQps = Math.min(maxQps, opts.minQps ?? Math.max(0.2, maxQps / 50));
    this.args = [maxQps, minQps, opts.increasePerSec ?? maxQps / 10];
    this.cooldownMs = opts.decreaseCooldownMs ?? 1000;
    this.loneMs = opts.loneMs ?? 2000;
    this.horizonMs = Math.max(100, 2000 / maxQps);
    // A quota of Q (a whole number, as quotas are) allows Q calls in any second: Q + 1 calls
    // never within 1,000 ms + guard. A fractional one (2.5/s) is read as n = 2 calls per 800 ms.
    const n = Math.max(1, Math.floor(maxQps));
    this.window = [n, (n * 1000) / maxQps + guardMs];
    this.guardPerSlotMs = guardMs / n;
  }

  /**
   * Waits for this process's turn, then for a slot of the shared schedule no further than the
   * horizon ahead, then for the slot itself, then until the provider's rule allows it to leave
   * now; returns when the caller must send. Rejects if the signal aborts first (a slot already
   * taken is then lost: safe).
   *
   * One call per process at a time asks for a slot (a FIFO line), and only for one within the
   * horizon, so the schedule never runs far ahead of now: were every card in flight to hold a slot
   * up to seconds ahead, a process that stalls (at its start, when it takes ~80 jobs at once; CPU
   * starvation) would sit on seconds of quota the other processes could not use. The wait for the
   * slot and the departure are outside the line: inside it, one process could start no more than
   * ~150 calls a second (two Redis round trips and a timer each, bench/worker).
   */
  async acquire(signal?: AbortSignal): Promise<Slot> {
    const ms = await untilAborted(
      this.inTurn(() => this.reserve(signal)),
      signal,
    );
    // Under a millisecond early is within what the guard absorbs; a timer would wait a whole one.
    if (ms >= 1) await sleep(ms, signal);
    const [stamp, askedAt] = await this.depart(signal);
    return {
      sent: () => {
        if (performance.now() - askedAt <= RESTAMP_AFTER_MS) return;
        // Moving a departure later only makes the record stricter for the calls after it. If
        // Redis is unreachable the call has left anyway; the stamp it has is the record.
        REDEPART.run(this.redis, this.sentKey, stamp).catch(() => undefined);
      },
    };
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

  /** Asks until a slot within the horizon is ours; returns the ms until it. */
  private async reserve(signal?: AbortSignal): Promise<number> {
    for (;;) {
      signal?.throwIfAborted();
      const [wait, reserved] = (await RESERVE.run(
        this.redis,
        this.key,
        ...this.args,
        this.horizonMs,
        this.guardPerSlotMs,
      )) as [string, string];
      if (reserved === '1') return Number(wait);
      await sleep(Math.max(1, Number(wait)), signal);
    }
  }

  /** Waits until the record of departures allows one more now, and records it: [its stamp, when we asked]. */
  private async depart(signal?: AbortSignal): Promise<[string, number]> {
    for (;;) {
      signal?.throwIfAborted();
      const askedAt = performance.now();
      const [wait, stamp] = (await DEPART.run(this.redis, this.sentKey, ...this.window)) as [string, string];
      if (!(Number(wait) > 0)) return [stamp, askedAt];
      await sleep(Math.max(1, Number(wait)), signal);
    }
  }

  /**
   * The API said the rate is too high: every worker slows down (multiplicative decrease). The
   * first refusal in {@link RateLimiterOptions.loneMs} is taken for what it most likely is, our
   * clock and the provider's counter disagreeing by a few ms about one call, and costs a small
   * step (x0.95); a second one soon after means the quota really is lower (or shared): x`factor`,
   * once per cool-off. Returns the rate now, per second, and whether this refusal was lone.
   */
  async throttled(factor = 0.8): Promise<{ qps: number; lone: boolean }> {
    const [qps, lone] = await this.decrease(factor);
    return { qps, lone };
  }

  /** Cuts the rate to its floor: a storm of transient errors; it then probes its way back up. */
  async coolDown(): Promise<number> {
    return (await this.decrease(0))[0];
  }

  /** decrease.lua: [the rate now, less the guard; whether it was a lone throttle]. */
  private async decrease(factor: number): Promise<[number, boolean]> {
    const [rate, lone] = (await DECREASE.run(
      this.redis,
      this.key,
      ...this.args,
      factor,
      this.cooldownMs,
      LONE_FACTOR,
      this.loneMs,
    )) as [string, string];
    return [this.withGuard(Number(rate)), lone === '1'];
  }

  /** Calls per second the schedule allows now (the adaptive rate, less the guard), as every worker sees it. */
  async effectiveQps(): Promise<number> {
    const [rate, at] = await this.redis.hmget(this.key, 'rate', 'at');
    const [maxQ, minQ, inc] = this.args;
    if (!rate || !at) return this.withGuard(maxQ);
    return this.withGuard(
      Math.max(minQ, Math.min(maxQ, Number(rate) + (inc * (Date.now() - Number(at))) / 1000)),
    );
  }

  /** Calls per second at schedule rate `r`, once the guard spread over its slots is added. */
  private withGuard(r: number): number {
    return 1000 / (1000 / r + this.guardPerSlotMs);
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
