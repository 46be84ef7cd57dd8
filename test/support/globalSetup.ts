import { spawnSync } from 'node:child_process';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startThrowawayPostgres, startThrowawayRedis } from './services.js';

/**
 * Services every test file may use. `REDIS_URL` is used as given; otherwise a throwaway
 * `redis-server` from PATH is started on a free loopback port and stopped at the end. Likewise
 * `TEST_DATABASE_URL`, or a throwaway PostgreSQL cluster.
 */
export default async function setup(project: TestProject): Promise<() => void> {
  const cleanups: (() => void)[] = [];
  let redisUrl = process.env.REDIS_URL;
  if (!redisUrl) {
    const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
    if (which.status !== 0) {
      throw new Error(
        'The tests need Redis: set REDIS_URL=redis://host:port, or install redis-server (apt-get install -y redis-server) so a throwaway one can be started.',
      );
    }
    const redis = await startThrowawayRedis();
    redisUrl = redis.url;
    cleanups.push(() => redis.destroy());
  }
  project.provide('redisUrl', redisUrl);
  let databaseUrl = process.env.TEST_DATABASE_URL;
  if (!databaseUrl) {
    const pg = await startThrowawayPostgres();
    databaseUrl = pg.url;
    cleanups.push(pg.stop);
  }
  project.provide('databaseUrl', databaseUrl);
  return () => {
    for (const c of cleanups.reverse()) c();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    /** A PostgreSQL server the store tests may create schemas in. */
    databaseUrl: string;
  }
}
