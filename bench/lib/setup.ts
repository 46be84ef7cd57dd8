// What the benchmarks' parent processes share around their measurements: the flags that name the
// services, the connection to Redis, the machine and commit a report names, and a clean-up that
// also runs on SIGINT and SIGTERM. Parent side only: the measured children import bench/lib.ts.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { createRedis } from '../../src/queue.js';

/** Flags of the benchmarks that use PostgreSQL and Redis (`parseArgs` options). */
export const SERVICE_OPTIONS = {
  'database-url': {
    type: 'string',
    default: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  },
  'redis-url': { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
} as const;

/** A connection to the Redis at `url`, open, or an error that says how to name another. */
export async function connectRedis(url: string): Promise<Redis> {
  const redis = createRedis(url, { lazyConnect: true });
  await redis.connect().catch((e: unknown) => {
    throw new Error(`no Redis at ${url} (set --redis-url or REDIS_URL): ${(e as Error).message}`);
  });
  return redis;
}

/** The load averages over 1, 5 and 15 minutes: `0.52 0.61 0.70`. */
export const loadAverage = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

/** `N cores, <CPU model>, Node <nodeVersion>`. */
export function describeMachine(nodeVersion: string): string {
  const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
  return `${cpus().length} cores, ${cpu}, Node ${nodeVersion}`;
}

/** The checkout's commit, `+dirty` when it has uncommitted changes. */
export function describeCommit(): string {
  // Without optional locks: reading the status must not rewrite the index under someone else's feet.
  const git = (...a: string[]): string =>
    execFileSync('git', ['--no-optional-locks', ...a], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      encoding: 'utf8',
      stdio: 'pipe',
    }).trim();
  try {
    return `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain') ? '+dirty' : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

/**
 * `clean`, run at most once however often the returned function is called, and also on SIGINT
 * and SIGTERM, which then end the process with 130.
 */
export function cleanupOnce(clean: () => Promise<void>): () => Promise<void> {
  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> => (cleaning ??= clean());
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      console.error(`${sig}: cleaning up`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  return cleanup;
}
