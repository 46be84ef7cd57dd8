import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';

/**
 * Services every test file may use. `REDIS_URL` is used as given; otherwise a throwaway
 * `redis-server` from PATH is started on a free loopback port and stopped at the end.
 */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

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
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'macao-ocr-test-redis-'));
    execFileSync('redis-server', [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'yes',
      '--dir',
      dir,
      '--pidfile',
      join(dir, 'redis.pid'),
      '--logfile',
      join(dir, 'redis.log'),
    ]);
    redisUrl = `redis://127.0.0.1:${port}`;
    cleanups.push(() => {
      spawnSync('redis-cli', ['-p', String(port), 'shutdown', 'nosave']);
      rmSync(dir, { recursive: true, force: true });
    });
  }
  project.provide('redisUrl', redisUrl);
  return () => {
    for (const c of cleanups.reverse()) c();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}
