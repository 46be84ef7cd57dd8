import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { cardQueueKeys, ownKeys } from '../../src/redisKeys.js';

/**
 * Removes a card queue from Redis and closes it: BullMQ's keys (obliterate, forced: jobs may be
 * active; an error there still lets the rest run), then the keys this program adds (`ownKeys`).
 * `redis` is a connection to the queue's Redis; it stays open.
 */
export async function dropCardQueue(queue: Queue, redis: Redis): Promise<void> {
  await queue.obliterate({ force: true }).catch(() => undefined);
  await redis.del(...ownKeys(cardQueueKeys(queue)));
  await queue.close();
}
