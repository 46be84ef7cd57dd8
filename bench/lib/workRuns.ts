// What the benchmarks that run `macao-ocr work` processes over copied cards share (bench/priority.ts,
// bench/quota-queues.ts): specimens in the bucket with the emulator warmed on them, work processes
// started and stopped, an account's quota keys dropped, and the runs' progress and calls read from
// the results store.
import { mapLimit } from '../../src/mapLimit.js';
import { createOcrClient } from '../../src/ocr/client.js';
import { DEFAULT_QUEUE_PREFIX } from '../../src/queue.js';
import { quotaKeys } from '../../src/redisKeys.js';
import { generateCard, renderCard } from '../../src/sandbox/specimen/index.js';
import { presignGet } from '../../src/storage/objects.js';
import { CREDENTIAL } from '../../test/support/pipeline.js';
import { spawnWork, until, type WorkerProcess } from '../../test/support/processes.js';
import { stopChild, track } from './processes.js';
import type { Call } from './quota.js';
import { REPO_ROOT } from './transpile.js';
import { type BenchObject, BUCKET, putBenchObject, type WorkerBench } from './workerBench.js';

/**
 * Renders `distinct` specimen fronts into the bucket under `prefix` and warms the emulator with
 * one call each (it decodes each distinct image once, ~30 ms of CPU, then answers from its cache),
 * so that no measured run pays for the decodes. Leaves the emulator unlimited, without latency.
 */
export async function specimens(ctx: WorkerBench, prefix: string, distinct: number): Promise<BenchObject[]> {
  const objects: BenchObject[] = [];
  for (let i = 0; i < distinct; i++) {
    const { front } = await renderCard(generateCard(61, i), { back: false });
    objects.push(
      await putBenchObject(ctx, `${prefix}${String(i).padStart(3, '0')}_front.jpg`, front, 'image/jpeg'),
    );
  }
  await ctx.emulator.configure({ qps: 0, latencyMs: [0, 0], faults: {} });
  const warm = createOcrClient({ ...CREDENTIAL, endpoint: ctx.emulator.url, timeoutMs: 30_000 });
  try {
    await mapLimit(objects, 8, async (o) => {
      await warm.recognize({ front: { url: await presignGet(ctx.s3, BUCKET, o.key, 300) } });
    });
  } finally {
    warm.close();
  }
  return objects;
}

/**
 * Starts one `macao-ocr work ...args` process per environment (the CLI itself, as an operator
 * runs it) and resolves once every one has logged "worker started".
 */
export async function startWorkers(envs: Record<string, string>[], args: string[]): Promise<WorkerProcess[]> {
  const procs = envs.map((env) => {
    const w = spawnWork(env, args, { cwd: REPO_ROOT });
    track(w.child);
    return w;
  });
  await until(
    () => {
      const dead = procs.findIndex((w) => w.child.exitCode !== null);
      if (dead >= 0) throw new Error(`work process ${dead} exited: ${procs[dead]!.output().slice(-2000)}`);
      return procs.every((w) => w.output().includes('"worker started"'));
    },
    90_000,
    'the work processes to start',
  );
  return procs;
}

/** Stops work processes as an operator does (SIGTERM, their grace period), killing them after 35 s. */
export async function stopWorkers(procs: WorkerProcess[]): Promise<void> {
  await Promise.all(procs.map((w) => stopChild(w.child, 35_000)));
}

/** Removes the shared rate of `account` (`OCR_QUOTA_KEY`) from Redis. */
export async function dropQuota(ctx: WorkerBench, account: string): Promise<void> {
  const k = quotaKeys(DEFAULT_QUEUE_PREFIX, account);
  await ctx.redis.del(k.rate, k.rateDepartures);
}

/** Cards of these runs still pending. */
export async function pendingOf(ctx: WorkerBench, runIds: string[]): Promise<number> {
  const { rows } = await ctx.store.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM cards WHERE run_id = ANY ($1::text[]) AND pending',
    [runIds],
  );
  return rows[0]?.n ?? 0;
}

/** Waits until none of these runs' cards is pending (polling every 200 ms); false after `timeoutMs`. */
export async function drained(ctx: WorkerBench, runIds: string[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await pendingOf(ctx, runIds)) === 0) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The API calls of these runs, from the ledger: when each was sent (epoch ms) and its answer. */
export async function ledgerCalls(ctx: WorkerBench, runIds: string[]): Promise<(Call & { run: string })[]> {
  const { rows } = await ctx.store.pool.query<Call & { run: string }>(
    `SELECT (extract(epoch FROM called_at) * 1000)::float8 AS t, code, run_id AS run
     FROM api_calls WHERE run_id = ANY ($1::text[]) ORDER BY called_at`,
    [runIds],
  );
  return rows;
}

/** Epoch ms of one timestamp the query selects as `t` (undefined when there is none). */
export async function epochOf(ctx: WorkerBench, sql: string, params: unknown[]): Promise<number | undefined> {
  const { rows } = await ctx.store.pool.query<{ t: number | null }>(sql, params);
  return rows[0]?.t ?? undefined;
}
