import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ResultsStore } from '../src/results/store.js';
import { type Pipeline, pipelineEnv, startPipeline } from './support/pipeline.js';
import { BIN, spawnWork, TSX, until, type WorkerProcess, watchProcess } from './support/processes.js';

/**
 * The embedded store is served by whichever process opened it first. Stopping that process must
 * not stop the others: one of them takes over serving, and every command carries on.
 */
describe('embedded store: another process takes over when the serving one stops', () => {
  let p: Pipeline;
  let dataDir: string;
  const procs: WorkerProcess[] = [];

  beforeAll(async () => {
    p = await startPipeline({ redisUrl: inject('redisUrl'), databaseUrl: inject('databaseUrl') });
    await p.upload('take/', { count: 24, seed: 41 });
    // Slow answers, so the run is still working when the serving process stops.
    p.emulator.configure({ latencyMs: [150, 250] });
    dataDir = mkdtempSync(join(tmpdir(), 'macao-ocr-test-takeover-'));
  });
  afterAll(async () => {
    for (const w of procs) w.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
    await p?.close();
  });

  it('SIGTERM to the serving `work` while `run` works elsewhere: run exits 0, no card pending', async () => {
    // The processes' own embedded store, not the one this test process serves for the pipeline.
    const env = { ...pipelineEnv(p), MACAO_OCR_DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
    const work = spawnWork(env, ['--concurrency', '2']);
    procs.push(work);
    const lock = join(dataDir, 'owner.lock');
    // Whose lock it is: read as text, since the owner creates the file before it writes it.
    const holds = (pid: number | undefined): boolean =>
      existsSync(lock) && readFileSync(lock, 'utf8').includes(`"pid":${pid},`);
    await until(
      () => holds(work.child.pid),
      60_000,
      () => `the worker to serve the store: ${work.output()}`,
    );
    await until(() => existsSync(join(dataDir, '.s.PGSQL.5432')), 60_000, 'the store to be served');

    const run = watchProcess(
      spawn(process.execPath, ['--import', TSX, BIN, 'run', `s3://${p.bucket}/take/`, '--concurrency', '2'], {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    procs.push(run);
    // Some cards finished, most still to go: stop the serving process.
    await until(
      () => p.emulator.stats().billed >= 4,
      60_000,
      () => `the run to start: ${run.output()}`,
    );
    const stoppedAt = Date.now();
    const billedAtStop = p.emulator.stats().billed;
    work.child.kill('SIGTERM');
    expect(await work.exited).toBe(0);
    const workExitedMs = Date.now() - stoppedAt;
    // The run serves the store now: it took the lock (seen unless it finished first).
    let runDone = false;
    void run.exited.then(() => {
      runDone = true;
    });
    await until(
      () => runDone || holds(run.child.pid),
      60_000,
      () => `the run to take over: ${run.output()}`,
    );
    const takenOverMs = runDone ? null : Date.now() - stoppedAt;

    const code = await run.exited;
    expect({ code, output: code === 0 ? '' : run.output() }).toEqual({ code: 0, output: '' });
    // The run took over serving the store while it worked, and gave it up when it exited.
    expect(existsSync(lock)).toBe(false);
    const store = await ResultsStore.open({ dataDir });
    try {
      const { rows } = await store.pool.query<{ pending: number; recognized: number }>(
        `SELECT count(*) FILTER (WHERE pending)::int AS pending,
                count(*) FILTER (WHERE outcome = 'recognized' AND NOT pending)::int AS recognized
           FROM cards`,
      );
      expect(rows[0]).toEqual({ pending: 0, recognized: 24 });
      console.error(
        `TAKEOVER ${JSON.stringify({ cards: 24, billedAtStop, workExitedMs, takenOverMs, runExit: code, pending: rows[0]!.pending, billed: p.emulator.stats().billed })}`,
      );
    } finally {
      await store.close();
    }
  });
});
