import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
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
 *
 * The serving process may stop first (an operator stops the `work` that happened to open the
 * store while a `run` goes on elsewhere). Every client watches for that: a query that finds no
 * one serving waits for the lock to be released, takes it, opens PGlite and serves the directory
 * itself (or connects to whichever process took it first), then runs the query again. Queries
 * that never reached the server are retried whatever they are; one cut off mid-way only when it
 * reads, since a write may have been done (the callers that write retry with their own checks,
 * e.g. the card ledger).
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
  /**
   * `owner` opened PGlite and serves it; `client` connects to the owner's socket. A client
   * becomes the owner when it takes over from an owner that stopped.
   */
  readonly role: 'owner' | 'client';
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
  /**
   * Run by a process that starts serving the directory after another stopped, before any query
   * is retried: what the session needs (PGlite is one session for every connection, so a
   * `SET search_path` made through the old owner is gone).
   */
  onTakeOver?: (pool: pg.Pool) => Promise<void>;
  /** How long a query waits for a new owner after the serving process stopped, ms; default 60,000. */
  takeOverWaitMs?: number;
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

/**
 * Waits until the lock's holder answers on its socket: `serving`, or `gone` as soon as the lock
 * no longer names that live process (it stopped: take the lock), or `silent` after `waitMs`.
 */
async function waitServing(
  lockPath: string,
  lock: LockInfo,
  waitMs: number,
): Promise<'serving' | 'gone' | 'silent'> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const probe = new pg.Client({ host: lock.socketDir, port: 5432, user: 'postgres', database: 'postgres' });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.query('SELECT 1');
      return 'serving';
    } catch {
      const now = readLock(lockPath);
      if (!now || now.pid !== lock.pid || !pidAlive(now.pid)) return 'gone';
      if (Date.now() > deadline) return 'silent';
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      await probe.end().catch(() => undefined);
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

/** Who serves the directory to this process: itself (`release` stops serving), or another. */
interface Serving {
  role: 'owner' | 'client';
  socketDir: string;
  release?: () => Promise<void>;
}

/** Takes the lock and serves the directory, or finds the live process that serves it. */
async function acquire(dir: string, opts: EmbeddedOptions, waitMs: number): Promise<Serving> {
  const lockPath = join(dir, 'owner.lock');
  const deadline = Date.now() + waitMs;
  for (let unreadable = 0; ; ) {
    let fd: number;
    try {
      fd = openSync(lockPath, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const lock = readLock(lockPath);
      if (!lock) {
        // The owner is between creating and writing the lock file: look again shortly.
        await new Promise((r) => setTimeout(r, 100));
        if (!readLock(lockPath) && ++unreadable >= 4) rmSync(lockPath, { force: true });
        continue;
      }
      if (!pidAlive(lock.pid)) {
        rmSync(lockPath, { force: true });
        rmSync(join(lock.socketDir, SOCKET_FILE), { force: true });
        continue;
      }
      const state = await waitServing(lockPath, lock, Math.max(0, deadline - Date.now()));
      if (state === 'serving') return { role: 'client', socketDir: lock.socketDir };
      if (state === 'gone' && Date.now() <= deadline) continue;
      throw new EmbeddedDatabaseBusyError(
        `the embedded database in ${dir} is held by process ${lock.pid}, which does not serve it to other processes. ` +
          'Stop that process (or wait for it to finish), or use a PostgreSQL server for several processes: set DATABASE_URL=postgres://...',
      );
    }
    return await becomeOwner(dir, lockPath, fd, opts.maxConnections ?? 32);
  }
}

/** Errors of a connection that never reached the server: nothing was run, any query may be sent again. */
const NOT_CONNECTED = new Set(['ENOENT', 'ECONNREFUSED']);

/** Whether `sql` only reads: safe to run again after its connection was cut mid-way. */
function onlyReads(sql: unknown): boolean {
  const text = typeof sql === 'string' ? sql : (sql as { text?: unknown } | undefined)?.text;
  return (
    typeof text === 'string' && /^\s*(SELECT|WITH)\b/i.test(text) && !/\b(INSERT|UPDATE|DELETE)\b/i.test(text)
  );
}

/** The serving process went away under this query: its connection refused, or cut. */
function servingLost(e: unknown, sql: unknown): boolean {
  const err = e as NodeJS.ErrnoException;
  if (err.code && NOT_CONNECTED.has(err.code)) return true;
  const cut =
    err.code === 'ECONNRESET' ||
    err.code === 'EPIPE' ||
    err.code === '57P01' ||
    /Connection terminated|connection is closed/i.test(String(err.message));
  return cut && onlyReads(sql);
}

export async function openEmbedded(dir: string, opts: EmbeddedOptions = {}): Promise<EmbeddedDatabase> {
  mkdirSync(dir, { recursive: true });
  let serving = await acquire(dir, opts, opts.connectWaitMs ?? 20_000);
  const pool = poolFor(serving.socketDir, opts.poolSize ?? 8);
  let closed = false;
  let takingOver: Promise<void> | undefined;
  // One take-over at a time for the whole process, however many queries found the owner gone.
  const takeOver = (): Promise<void> =>
    (takingOver ??= (async () => {
      try {
        serving = await acquire(dir, opts, opts.takeOverWaitMs ?? 60_000);
        // New connections go to whoever serves now (the same socket unless the path was too long).
        (pool.options as { host?: string }).host = serving.socketDir;
        if (serving.role === 'owner') await opts.onTakeOver?.(pool);
      } finally {
        takingOver = undefined;
      }
    })());
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
  (pool as unknown as { query: unknown }).query = async (...args: unknown[]) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await query(...args);
      } catch (e) {
        if (closed || attempt >= 3 || typeof args.at(-1) === 'function' || !servingLost(e, args[0])) throw e;
        await takeOver();
      }
    }
  };
  return {
    pool,
    get role() {
      return serving.role;
    },
    dir,
    async close() {
      closed = true;
      await takingOver?.catch(() => undefined);
      // Reverse order of acquisition; the lock goes last so no one opens PGlite while it closes.
      await pool.end().catch(() => undefined);
      await serving.release?.();
    },
  };
}

async function becomeOwner(
  dir: string,
  lockPath: string,
  fd: number,
  maxConnections: number,
): Promise<Serving> {
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
  const ownedDb = db;
  const ownedServer = server;
  return {
    role: 'owner',
    socketDir,
    async release() {
      await ownedServer.stop().catch(() => undefined);
      await ownedDb.close().catch(() => undefined);
      rmSync(join(socketDir, SOCKET_FILE), { force: true });
      if (socketDir !== dir) rmSync(socketDir, { recursive: true, force: true });
      rmSync(lockPath, { force: true });
    },
  };
}
