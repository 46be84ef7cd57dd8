import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/net.js';

/** A throwaway `redis-server` owned by one test: it can be stopped and started again on the same port. */
export interface ThrowawayRedis {
  url: string;
  port: number;
  /** Stops it (SHUTDOWN: with `persistent`, the append-only file is kept and read back by {@link start}). */
  stop(): void;
  /** Starts it again on the same port and directory. */
  start(): void;
  /** Stops it for good and removes its directory. */
  destroy(): void;
}

/**
 * Starts `redis-server` from PATH on a free loopback port. `persistent`: append-only
 * file with `appendfsync always`, as a production Redis for BullMQ should be configured, so a
 * restart loses nothing; otherwise no persistence at all.
 */
export async function startThrowawayRedis(opts: { persistent?: boolean } = {}): Promise<ThrowawayRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'macao-ocr-chaos-redis-'));
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--daemonize',
    'yes',
    '--dir',
    dir,
    '--pidfile',
    join(dir, 'redis.pid'),
    '--logfile',
    join(dir, 'redis.log'),
    ...(opts.persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
  ];
  const start = (): void => {
    execFileSync('redis-server', args);
    // --daemonize returns before the port is open.
    const deadline = Date.now() + 10_000;
    while (
      spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() !== 'PONG'
    ) {
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start`);
      spawnSync('sleep', ['0.05']);
    }
  };
  const stop = (): void => {
    spawnSync('redis-cli', ['-p', String(port), 'shutdown']);
    const deadline = Date.now() + 10_000;
    while (spawnSync('redis-cli', ['-p', String(port), 'ping']).status === 0 && Date.now() < deadline)
      spawnSync('sleep', ['0.05']);
  };
  start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    start,
    destroy() {
      spawnSync('redis-cli', ['-p', String(port), 'shutdown', 'nosave']);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A throwaway PostgreSQL cluster (trust auth, loopback only, fsync off): initdb and pg_ctl from
 * Debian's PostgreSQL, run as the `postgres` user when we are root.
 */
export async function startThrowawayPostgres(): Promise<{ url: string; stop: () => void }> {
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
