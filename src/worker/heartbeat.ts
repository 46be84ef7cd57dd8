import { hostname } from 'node:os';
import type { Redis } from 'ioredis';

/** One running worker as its heartbeat names it: where it runs, and the credential it signs with. */
export interface WorkerBeat {
  host: string;
  pid: number;
  /** The SecretId, masked. */
  secretId: string;
  /** {@link credentialFingerprint} of the SecretId and key. */
  credential: string;
}

/** How often a worker says it is alive, and how long a heartbeat counts. */
export const HEARTBEAT_EVERY_MS = 5000;
export const HEARTBEAT_TTL_MS = 3 * HEARTBEAT_EVERY_MS;

/**
 * Publishes this process's heartbeat in `key` (a sorted set scored by the time of the last beat)
 * every {@link HEARTBEAT_EVERY_MS}, so that `macao-ocr resume` can tell whether workers still
 * hold the credential that paused the queue. Stopping removes it at once.
 */
export function startHeartbeat(
  redis: Redis,
  key: string,
  who: Omit<WorkerBeat, 'host' | 'pid'>,
): { stop(): Promise<void> } {
  const member = JSON.stringify({ host: hostname(), pid: process.pid, ...who } satisfies WorkerBeat);
  const beat = (): Promise<unknown> =>
    redis
      .multi()
      .zadd(key, Date.now(), member)
      .zremrangebyscore(key, 0, Date.now() - HEARTBEAT_TTL_MS)
      .pexpire(key, HEARTBEAT_TTL_MS * 4)
      .exec()
      .catch(() => undefined);
  void beat();
  const timer = setInterval(() => void beat(), HEARTBEAT_EVERY_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await redis.zrem(key, member).catch(() => undefined);
    },
  };
}

/** The workers whose heartbeat is fresh. */
export async function liveWorkers(redis: Redis, key: string): Promise<WorkerBeat[]> {
  const members = await redis.zrangebyscore(key, Date.now() - HEARTBEAT_TTL_MS, '+inf');
  return members.flatMap((m) => {
    try {
      return [JSON.parse(m) as WorkerBeat];
    } catch {
      return [];
    }
  });
}
