import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { cardQueueKeys, ownKeys } from '../../src/redisKeys.js';
import { schedulesQueueName } from '../../src/schedules.js';

/**
 * Removes a card queue from Redis and closes it: BullMQ's keys (obliterate, forced: jobs may be
 * active; an error there still lets the rest run), the keys this program adds (`ownKeys`), and
 * the queue of its schedules, which every `work` process opens. `redis` is a connection to the
 * queue's Redis; it stays open.
 */
export async function dropCardQueue(queue: Queue, redis: Redis): Promise<void> {
  await queue.obliterate({ force: true }).catch(() => undefined);
  await redis.del(...ownKeys(cardQueueKeys(queue)));
  const schedules = new Queue(schedulesQueueName(queue.name), {
    connection: redis,
    ...(queue.opts.prefix ? { prefix: queue.opts.prefix } : {}),
  });
  await schedules.obliterate({ force: true }).catch(() => undefined);
  await schedules.close();
  await queue.close();
}

/**
 * Jobs waiting their turn: BullMQ's `waiting` and `prioritized` states together (card jobs carry
 * their run's priority, so they wait as `prioritized`).
 */
export function queuedCount(queue: Queue): Promise<number> {
  return queue.getJobCountByTypes('waiting', 'prioritized');
}

/** The jobs {@link queuedCount} counts. */
export function queuedJobs<Q extends Queue>(queue: Q): ReturnType<Q['getJobs']> {
  return queue.getJobs(['waiting', 'prioritized']) as ReturnType<Q['getJobs']>;
}
