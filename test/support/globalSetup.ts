import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { freePort } from '../../src/net.js';

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

/**
 * A throwaway PostgreSQL cluster (trust auth, loopback only, fsync off), as STACK.md describes:
 * initdb and pg_ctl from Debian's PostgreSQL, run as the `postgres` user when we are root.
 */
async function startThrowawayPostgres(): Promise<{ url: string; stop: () => void }> {
  const bin = ['15', '16', '17', '14']
    .map((v) => `/usr/lib/postgresql/${v}/bin`)
    .find((d) => spawnSync('test', ['-x', `${d}/initdb`]).status === 0);
  if (!bin) {
    throw new Error(
      'The store tests need PostgreSQL: set TEST_DATABASE_URL=postgres://..., or install it (apt-get install -y postgresql) so a throwaway cluster can be started.',
    );
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'macao-ocr-test-pg-'));
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]): void => {
    const r = asRoot
      ? spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { encoding: 'utf8' })
      : spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr || r.stdout}`);
  };
  if (asRoot) execFileSync('chown', ['postgres:postgres', dir]);
  const data = join(dir, 'data');
  run(`${bin}/initdb`, ['-D', data, '--auth=trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
  run(`${bin}/pg_ctl`, [
    '-D',
    data,
    '-l',
    join(dir, 'server.log'),
    '-w',
    'start',
    '-o',
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
  ]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: () => {
      spawnSync(
        asRoot ? 'runuser' : `${bin}/pg_ctl`,
        asRoot
          ? ['-u', 'postgres', '--', `${bin}/pg_ctl`, '-D', data, '-m', 'immediate', 'stop']
          : ['-D', data, '-m', 'immediate', 'stop'],
      );
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    /** A PostgreSQL server the store tests may create schemas in. */
    databaseUrl: string;
  }
}
