import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DEFAULT_QUEUE_PREFIX } from '../../src/queue.js';
import { measureRun, printFigures, startChaosPipeline } from '../support/chaos.js';
import { dumpQueueKeys, findLeaks } from '../support/leaks.js';
import { CREDENTIAL, type Pipeline } from '../support/pipeline.js';
import { spawnWorker, until, type WorkerProcess } from '../support/processes.js';
import { type CachedSample, fronts } from '../support/specimenCache.js';

/**
 * Chaos: `kill -9` of a `macao-ocr work` process at three random moments of a 500-card run, each
 * time restarted at once, beside a second worker process that runs throughout.
 */
describe('chaos: kill -9 of worker processes', () => {
  let p: Pipeline;
  let samples: CachedSample[];
  const procs: WorkerProcess[] = [];
  const WORKER_ARGS = ['--concurrency', '12', '--qps', '40', '--lock-ms', '3000', '--grace-ms', '2000'];

  beforeAll(async () => {
    ({ p, samples } = await startChaosPipeline('kill/', {
      redisUrl: inject('redisUrl'),
      databaseUrl: inject('databaseUrl'),
    }));
  }, 180_000);
  afterAll(async () => {
    for (const w of procs) w.child.kill('SIGKILL');
    await p?.close();
  });

  it('every card terminal, one row per card version, billed <= cards + cards in flight at the kills', {
    timeout: 180_000,
  }, async () => {
    const started = Date.now();
    const cards = fronts(samples).map((o) => `kill/${o.key}`);
    const run = await p.enqueue('kill/');
    expect(run.counts.enqueued).toBe(cards.length);
    // Every level, so that every log line is scanned.
    const spawn = (): WorkerProcess => {
      const w = spawnWorker(p, WORKER_ARGS, { LOG_LEVEL: 'trace' });
      procs.push(w);
      return w;
    };
    const steady = spawn();
    let victim = spawn();
    const thresholds = [0, 0, 0]
      .map(() => Math.round(cards.length * (0.1 + 0.7 * Math.random())))
      .sort((a, b) => a - b);
    const kills: { atBilled: number; activeAtKill: number }[] = [];
    let redisDuringRun = '';
    for (const at of thresholds) {
      await until(() => p.emulator.stats().billed >= at, 120_000, `${at} cards billed`);
      const activeAtKill = await p.queue.getActiveCount();
      if (!redisDuringRun)
        redisDuringRun = (await dumpQueueKeys(p.redis, DEFAULT_QUEUE_PREFIX, p.queueName)).text;
      victim.child.kill('SIGKILL');
      await victim.exited;
      kills.push({ atBilled: p.emulator.stats().billed, activeAtKill });
      victim = spawn();
    }
    await p.drained(150_000);
    const redisAfter = await dumpQueueKeys(p.redis, DEFAULT_QUEUE_PREFIX, p.queueName);
    // The last one may still be loading its modules when the run drains: a process that has not
    // started yet has nothing to stop gracefully (it once got SIGTERM there and died of it).
    const last = victim;
    await until(() => last.output().includes('"msg":"worker started"'), 60_000, 'the last worker to start');
    for (const w of [steady, victim]) w.child.kill('SIGTERM');
    expect(await steady.exited).toBe(0);
    expect(await victim.exited).toBe(0);

    const figures = await measureRun(p, run.runId!, cards);
    const inFlightAtKills = kills.reduce((n, k) => n + k.activeAtKill, 0);
    printFigures('kill-9 x3', { ...figures, kills, inFlightAtKills, wallMs: Date.now() - started });
    expect(figures.byOutcome).toEqual({ recognized: cards.length });
    expect(figures.rows).toBe(cards.length);
    expect(figures.lost).toBe(0);
    expect(figures.duplicateRows).toBe(0);
    expect(figures.billed).toBeGreaterThanOrEqual(cards.length);
    expect(figures.billed).toBeLessThanOrEqual(cards.length + inFlightAtKills);

    // Leaks: the logs of all five processes (trace level), and Redis during and after the run.
    const truths = samples.flatMap((o) => (o.truth && o.side === 'front' ? [o.truth.fields] : []));
    const logs = procs.map((w) => w.output()).join('\n');
    // LOG_LEVEL=trace: every line any level would write is here to scan (the worker writes
    // nothing below info today; a debug line added later is scanned too).
    expect(logs.includes('"msg":"card done"')).toBe(true);
    const sources = {
      secrets: [CREDENTIAL.secretKey, p.s3server.credentials.secretAccessKey],
      imageData: true,
      cards: truths,
    };
    expect(findLeaks(logs, sources)).toEqual([]);
    expect(redisDuringRun.includes('kill/card-')).toBe(true); // the jobs were really there
    expect(findLeaks(redisDuringRun, sources)).toEqual([]);
    expect(findLeaks(redisAfter.text, sources)).toEqual([]);
  });
});
