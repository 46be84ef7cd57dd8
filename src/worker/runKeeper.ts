import { randomBytes } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../log.js';
import { deliverDueNotices, type NoticeOptions } from '../notice.js';
import { fillWindow, runJobsOf } from '../producer/window.js';
import type { CardJobData } from '../queue.js';
import { cardQueueKeys } from '../redisKeys.js';
import { finishDrainedRuns, runsToRefill } from '../results/runLifecycle.js';
import type { ResultsStore } from '../results/store.js';
import { redisScript } from './luaScript.js';

/**
 * What every worker process does besides cards, once a second: marks the runs none of whose cards
 * is pending `done` (whichever process finished the last card), refills the runs' windows from
 * the store (one process at a time, under a lock in Redis), and sends the notices that are due.
 * Each step works from the store, so any worker can pick up where a stopped one left off.
 */
export interface RunKeeperOptions {
  store: ResultsStore;
  queue: Queue<CardJobData>;
  redis: Redis;
  log: Logger;
  /** How often it looks, ms; default 1,000. */
  everyMs?: number;
  notices: NoticeOptions;
}

const RELEASE = redisScript('release');

export interface RunKeeper {
  /** Runs one round now (tests, and `run` before it returns). */
  tick(): Promise<void>;
  /**
   * Stops looking, after one last round (at most 5 s): a worker that finished a run's last card
   * marks it done and sends its notice before it goes.
   */
  stop(): Promise<void>;
}

export function startRunKeeper(opts: RunKeeperOptions): RunKeeper {
  const { store, queue, redis, log } = opts;
  const lockKey = cardQueueKeys(queue).refillLock;
  const everyMs = opts.everyMs ?? 1000;
  let round: Promise<void> = Promise.resolve();
  let busy = false;
  let stopped = false;

  const refill = async (): Promise<void> => {
    const token = randomBytes(8).toString('hex');
    // Held for a round at most; released at its end. Another process that finds it taken skips
    // its refill this round: the holder is doing it.
    if ((await redis.set(lockKey, token, 'PX', Math.max(10_000, everyMs * 5), 'NX')) !== 'OK') return;
    try {
      for (const run of await runsToRefill(store, queue.name)) {
        const window = run.windowSize ?? 0;
        // In steps of a quarter window, not card by card.
        await fillWindow(store, queue, runJobsOf(run), { minRoom: Math.max(1, Math.floor(window / 4)) });
      }
    } finally {
      await RELEASE.run(redis, lockKey, token);
    }
  };

  const once = async (): Promise<void> => {
    for (const runId of await finishDrainedRuns(store)) log.info({ runId }, 'run done: no card pending');
    await refill();
    await deliverDueNotices(store, log, opts.notices);
  };

  const tick = (): Promise<void> => {
    round = round.then(async () => {
      busy = true;
      try {
        await once();
      } catch (e) {
        log.warn({ err: e }, 'run keeper: a round failed; the next one tries again');
      } finally {
        busy = false;
      }
    });
    return round;
  };

  // A round that takes longer than the period is not queued behind by the timer.
  const timer = setInterval(() => {
    if (!stopped && !busy) void tick();
  }, everyMs);
  timer.unref();
  return {
    tick,
    async stop() {
      stopped = true;
      clearInterval(timer);
      let timeout: NodeJS.Timeout | undefined;
      await Promise.race([
        tick(),
        new Promise<void>((r) => {
          timeout = setTimeout(r, 5000);
        }),
      ]);
      clearTimeout(timeout);
    },
  };
}
