import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createOcrClient } from '../../src/ocr/client.js';
import { pauseReason } from '../../src/worker/circuitBreaker.js';
import type { CardWorker } from '../../src/worker/startWorker.js';
import { measureRun, printFigures, startChaosPipeline } from '../support/chaos.js';
import { CREDENTIAL, type Pipeline } from '../support/pipeline.js';
import { until } from '../support/processes.js';
import { type CachedSample, fronts } from '../support/specimenCache.js';

const run = promisify(execFile);
const ROTATED = { secretId: 'AKIDrotatedchaos0002', secretKey: 'rotated-secret-key-chaos' };

/**
 * Chaos: the API key revoked in the middle of a 500-card run (the emulator answers
 * `AuthFailure.SecretIdNotFound` from then on). Every worker must stop calling, no card may be
 * failed; the operator deploys a new key and runs `macao-ocr resume`, and the run completes.
 */
describe('chaos: credentials revoked mid-run', () => {
  let p: Pipeline;
  let samples: CachedSample[];

  beforeAll(async () => {
    ({ p, samples } = await startChaosPipeline('auth/', {
      redisUrl: inject('redisUrl'),
      databaseUrl: inject('databaseUrl'),
      emulator: { credentials: [CREDENTIAL, ROTATED] },
    }));
  }, 180_000);
  afterAll(async () => p?.close());

  it('pauses every worker within a few calls, fails no card, and completes after resume', {
    timeout: 180_000,
  }, async () => {
    const started = Date.now();
    const cards = fronts(samples).map((o) => `auth/${o.key}`);
    const runRes = await p.enqueue('auth/');
    const CONCURRENCY = 8;
    const authFailures = [0, 0];
    const workers: CardWorker[] = [];
    for (const i of [0, 1]) {
      workers.push(
        await p.startWorker({
          qps: 40,
          concurrency: CONCURRENCY,
          onCall: (rec) => {
            if (rec.code.startsWith('AuthFailure.')) authFailures[i]!++;
          },
        }),
      );
    }
    await until(() => p.emulator.stats().billed >= 150, 60_000, '150 cards billed');
    p.emulator.revoke(CREDENTIAL.secretId);
    const revokedAt = Date.now();
    await until(() => p.queue.isPaused(), 20_000, 'the queue to pause');
    const pausedAfterMs = Date.now() - revokedAt;
    // Calls in flight when the queue paused may still come back refused; then nothing is sent.
    await new Promise((r) => setTimeout(r, 1500));
    const callsWhilePaused = p.emulator.stats().calls;
    const perWorker = [...authFailures];
    await new Promise((r) => setTimeout(r, 2000));
    expect(p.emulator.stats().calls).toBe(callsWhilePaused);
    expect((await pauseReason(p.queue, p.redis))?.code).toBe('AuthFailure.SecretIdNotFound');
    const atPause = await measureRun(p, runRes.runId!, cards);
    expect(atPause.byOutcome.failed).toBeUndefined();
    for (const n of perWorker) expect(n).toBeLessThanOrEqual(CONCURRENCY);

    // The operator's fix: workers restarted with the new key, then `macao-ocr resume`.
    for (const w of workers) await w.close(5000);
    const rotated = createOcrClient({ ...ROTATED, endpoint: p.emulator.url, timeoutMs: 10_000 });
    const fixed = await p.startWorker({ client: rotated, qps: 80, concurrency: 16 });
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', 'resume'], {
      env: {
        ...process.env,
        REDIS_URL: p.redisUrl,
        MACAO_OCR_QUEUE: p.queueName,
        MACAO_OCR_DATA_DIR: p.dataDir,
        LOG_LEVEL: 'warn',
      },
    });
    expect(stdout).toContain('resumed (it was paused for AuthFailure.SecretIdNotFound)');
    await p.drained(150_000);
    await fixed.close(5000);
    rotated.close();

    const figures = await measureRun(p, runRes.runId!, cards);
    printFigures('credentials revoked', {
      ...figures,
      pausedAfterMs,
      authFailuresPerWorker: perWorker,
      failedAtPause: atPause.byOutcome.failed ?? 0,
      recognizedAtPause: atPause.byOutcome.recognized ?? 0,
      wallMs: Date.now() - started,
    });
    expect(figures.byOutcome).toEqual({ recognized: cards.length });
    expect(figures.lost).toBe(0);
    expect(figures.duplicateRows).toBe(0);
    expect(figures.billed).toBe(cards.length);
    // Finished by the workers, not by the `enqueue` that made it: done all the same.
    await until(async () => (await p.store.getRun(runRes.runId!))?.state === 'done', 10_000, 'the run done');
  });
});
