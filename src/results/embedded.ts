import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import type { PGlite } from '@electric-sql/pglite';
import type { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import pg from 'pg';

/**
 * Embedded PGlite, shared between local processes. PGlite takes no lock on its directory and two
 * processes opening it corrupt it, yet an operator runs `status` or a second `work`
 * beside a running `run` and expects it to work. So the first process takes an exclusive lock
 * file, opens PGlite and serves it on a Unix socket (PostgreSQL wire protocol, pglite-socket);
 * every process, the owner included, talks to it through `pg`, so one SQL code path serves
 * PGlite and PostgreSQL alike. A stale lock (its process is gone) is taken over.
 */

/** The directory is held by a live process that does not serve it: only a human can sort that out. */
export class EmbeddedDatabaseBusyError extends Error {
  override readonly name = 'EmbeddedDatabaseBusyError';
}

interface LockInfo {
  pid: number;
  socketDir: string;
}

export interface EmbeddedDatabase {
  pool: pg.Pool;
  /** `owner` opened PGlite and serves it; `client` connects to the owner's socket. */
  role: 'owner' | 'client';
  dir: string;
  close(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Pool size of this process; default 8. */
  poolSize?: number;
  /** How long a client waits for a starting owner to serve, in ms; default 20,000 (PGlite opens in 0.4-3 s). */
  connectWaitMs?: number;
  /** Connections the owner serves at once, all processes together; default 32. */
  maxConnections?: number;
}

const SOCKET_FILE = '.s.PGSQL.5432';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(path: string): LockInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockInfo>;
    return typeof info.pid === 'number' && typeof info.socketDir === 'string'
      ? (info as LockInfo)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Unix socket paths are limited to ~107 bytes: a long data directory gets its socket in tmpdir. */
function chooseSocketDir(dir: string): string {
  return join(dir, SOCKET_FILE).length <= 100 ? dir : mkdtempSync(join(tmpdir(), 'macao-ocr-sock-'));
}

function poolFor(socketDir: string, size: number): pg.Pool {
  return new pg.Pool({ host: socketDir, port: 5432, user: 'postgres', database: 'postgres', max: size });
}

async function waitServing(pool: pg.Pool, waitMs: number): Promise<boolean> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      await pool.query('SELECT 1');
      return true;
    } catch {
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/**
 * PGlite is PostgreSQL compiled to WebAssembly, 9 MB of it. V8 compiles it twice: at once with
 * its baseline compiler (Liftoff), then again in the background with its optimising one
 * (TurboFan), and holds both for a while: ~80 MB more resident memory for the serving process
 * (bench/results-store: an opened store at ~210 MB with both, ~130 MB with Liftoff alone). The
 * database's work here is small queries and keyset pages over the local disk, where the
 * optimised code buys little (rows/s side by side in BENCHMARKS.md), so the serving process
 * keeps Liftoff's code only. V8 reads the flag when it compiles a module, so it takes effect for
 * modules compiled after this call; it is process-wide, which only concerns other WebAssembly in
 * this process (Node's HTTP parser), for which Liftoff is equally fine.
 */
function compileWasmForMemory(): void {
  v8.setFlagsFromString('--liftoff-only');
}

/**
 * Creating a new PGlite database runs initdb in a second WebAssembly instance inside the first;
 * the process peaks near 700 MB and keeps ~550 MB resident afterwards (WebAssembly memory is
 * never given back). So a new directory is initialised by a short-lived child process, and the
 * serving process opens the finished database like any other. The child loads PGlite's CommonJS
 * build by absolute path, so it works from any working directory, from src/ and from dist/.
 */
async function initdbInChild(pgdata: string): Promise<void> {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const script =
    'const { PGlite } = require(process.argv[1]);' +
    'PGlite.create(process.argv[2]).then((db) => db.close()).catch((e) => {' +
    ' process.stderr.write(String(e && e.message || e)); process.exit(1); });';
  const { stderr, code } = await new Promise<{ stderr: string; code: number | null }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--liftoff-only', '-e', script, entry, pgdata], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (c) => resolve({ stderr: err, code: c }));
  });
  if (code !== 0)
    throw new Error(`creating the database failed (initdb exited ${code}): ${stderr.trim().slice(0, 500)}`);
}

export async function openEmbedded(dir: string, opts: EmbeddedOptions = {}): Promise<EmbeddedDatabase> {
  mkdirSync(dir, { recursive: true });
  const lockPath = join(dir, 'owner.lock');
  const poolSize = opts.poolSize ?? 8;
  for (let tries = 0; tries < 5; tries++) {
    let fd: number;
    try {
      fd = openSync(lockPath, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const lock = readLock(lockPath);
      if (!lock) {
        // The owner is between creating and writing the lock file: look again shortly.
        await new Promise((r) => setTimeout(r, 100));
        if (!readLock(lockPath) && tries >= 3) unlinkSync(lockPath);
        continue;
      }
      if (!pidAlive(lock.pid)) {
        rmSync(lockPath, { force: true });
        rmSync(join(lock.socketDir, SOCKET_FILE), { force: true });
        continue;
      }
      const pool = poolFor(lock.socketDir, poolSize);
      if (await waitServing(pool, opts.connectWaitMs ?? 20_000)) {
        return { pool, role: 'client', dir, close: () => pool.end() };
      }
      await pool.end().catch(() => undefined);
      throw new EmbeddedDatabaseBusyError(
        `the embedded database in ${dir} is held by process ${lock.pid}, which does not serve it to other processes. ` +
          'Stop that process (or wait for it to finish), or use a PostgreSQL server for several processes: set DATABASE_URL=postgres://...',
      );
    }
    return await becomeOwner(dir, lockPath, fd, poolSize, opts.maxConnections ?? 32);
  }
  throw new EmbeddedDatabaseBusyError(
    `could not take or join the embedded database in ${dir}; remove ${lockPath} if no macao-ocr process runs`,
  );
}

async function becomeOwner(
  dir: string,
  lockPath: string,
  fd: number,
  poolSize: number,
  maxConnections: number,
): Promise<EmbeddedDatabase> {
  const socketDir = chooseSocketDir(dir);
  try {
    writeSync(fd, JSON.stringify({ pid: process.pid, socketDir } satisfies LockInfo));
  } finally {
    closeSync(fd);
  }
  let db: PGlite | undefined;
  let server: PGLiteSocketServer | undefined;
  try {
    rmSync(join(socketDir, SOCKET_FILE), { force: true });
    const pgdata = join(dir, 'pgdata');
    if (!existsSync(join(pgdata, 'PG_VERSION'))) await initdbInChild(pgdata);
    compileWasmForMemory();
    // PGlite's code is loaded only by the process that serves the directory: clients (and
    // PostgreSQL users) are spared its ~40 MB.
    const [{ PGlite }, { PGLiteSocketServer }] = await Promise.all([
      import('@electric-sql/pglite'),
      import('@electric-sql/pglite-socket'),
    ]);
    // PostgreSQL zeroes its shared buffers at start, and WebAssembly memory once touched stays
    // resident: the default 128 MB was most of PGlite's memory (bench/results-store: an opened
    // store at ~325 MB; 16 MB took it to ~210 MB, 4 MB to ~120 MB with Liftoff code only).
    // The pages come from the local disk and the OS caches them; recording and exporting ran
    // as fast with 4 MB as with 16 MB (BENCHMARKS.md).
    db = await PGlite.create(pgdata, { postgresqlconf: 'shared_buffers = 4MB\n' });
    server = new PGLiteSocketServer({ db, path: join(socketDir, SOCKET_FILE), maxConnections });
    await server.start();
  } catch (e) {
    await server?.stop().catch(() => undefined);
    await db?.close().catch(() => undefined);
    rmSync(lockPath, { force: true });
    const err = e as Error;
    throw new Error(
      `could not open the embedded database in ${dir}: ${err.message}. If it is damaged, move it aside or set DATABASE_URL.`,
    );
  }
  const pool = poolFor(socketDir, poolSize);
  const ownedDb = db;
  const ownedServer = server;
  return {
    pool,
    role: 'owner',
    dir,
    async close() {
      // Reverse order of acquisition; the lock goes last so no one opens PGlite while it closes.
      await pool.end().catch(() => undefined);
      await ownedServer.stop().catch(() => undefined);
      await ownedDb.close().catch(() => undefined);
      rmSync(join(socketDir, SOCKET_FILE), { force: true });
      if (socketDir !== dir) rmSync(socketDir, { recursive: true, force: true });
      rmSync(lockPath, { force: true });
    },
  };
}
