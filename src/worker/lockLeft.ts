import type { Redis } from 'ioredis';
import { redisScript } from './luaScript.js';

/** lockLeft.lua: the lock's ms left if the token holds it, -1 if not, -2 if it never expires. */
const LOCK_LEFT = redisScript('lockLeft');

/** Ms left on a job's lock if `token` holds it; 0 if another worker (or none) does; Infinity if it never expires. */
export async function lockLeftMs(redis: Redis, lockKey: string, token: string): Promise<number> {
  const left = Number(await LOCK_LEFT.run(redis, lockKey, token));
  return left === -2 ? Number.POSITIVE_INFINITY : Math.max(0, left);
}
