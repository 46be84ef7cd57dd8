import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ruleFor } from '../../src/ocr/errorActions.js';
import { measureRun, printFigures } from '../support/chaos.js';
import { type Pipeline, startPipeline } from '../support/pipeline.js';
import { type CachedSample, fronts, sampleSet, uploadSamples } from '../support/specimenCache.js';

/** Chaos: 40% of calls answered with transient faults, on 500 cards plus the bad inputs a bucket holds. */
describe('chaos: 40% transient faults', () => {
  let p: Pipeline;
  let samples: CachedSample[];
  const FAULTS = {
    'FailedOperation.OcrFailed': 0.15,
    InternalError: 0.1,
    'FailedOperation.WarningServiceFailed': 0.05,
    http502: 0.05,
    drop: 0.05,
  } as const;

  beforeAll(async () => {
    p = await startPipeline({
      redisUrl: inject('redisUrl'),
      databaseUrl: inject('databaseUrl'),
      emulator: { qps: 100, latencyMs: [50, 200], faults: FAULTS },
    });
    samples = await sampleSet({ count: 500, seed: 5002, faults: true });
    await uploadSamples(p.s3, p.bucket, 'faults/', samples);
  }, 180_000);
  afterAll(async () => p?.close());

  it('every good card recognized; no retry ever spent on a reject code', { timeout: 180_000 }, async () => {
    const started = Date.now();
    const good = fronts(samples);
    const run = await p.enqueue('faults/');
    const workers = [
      await p.startWorker({ qps: 80, concurrency: 16 }),
      await p.startWorker({ qps: 80, concurrency: 16 }),
    ];
    await p.drained(170_000);
    for (const w of workers) await w.close(5000);

    // Cards that reach a worker: the good ones and every fault but the GIF and the empty file.
    const sent = samples.filter(
      (o) => (o.kind === 'card' && o.side === 'front') || !['card', 'gif', 'empty'].includes(o.kind),
    );
    const figures = await measureRun(
      p,
      run.runId!,
      sent.map((o) => `faults/${o.key}`),
    );
    const recognizedGood = await p.store.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM cards WHERE run_id = $1 AND outcome = 'recognized' AND front_key = ANY($2::text[])`,
      [run.runId, good.map((o) => `faults/${o.key}`)],
    );
    const calls = await p.store.pool.query<{ version_id: string; code: string; called_at: Date }>(
      'SELECT version_id, code, called_at FROM api_calls WHERE run_id = $1 ORDER BY called_at, id',
      [run.runId],
    );
    // A reject code is the last call of its card: nothing was sent after it.
    const byVersion = new Map<string, string[]>();
    for (const c of calls.rows) byVersion.set(c.version_id, [...(byVersion.get(c.version_id) ?? []), c.code]);
    let retriesAfterReject = 0;
    let rejectCalls = 0;
    let downscaledAfterTooLarge = 0;
    for (const codes of byVersion.values()) {
      codes.forEach((code, i) => {
        // TooLargeFileError is a reject code, but the worker's one fallback sends a downscaled
        // copy instead: another request, not a retry of the same one. Counted apart.
        if (code === 'LimitExceeded.TooLargeFileError') downscaledAfterTooLarge++;
        else if (ruleFor(code).action === 'reject') {
          rejectCalls++;
          if (i < codes.length - 1) retriesAfterReject++;
        }
      });
    }
    const faultRows = await p.store.pool.query<{
      front_key: string;
      outcome: string;
      error_code: string | null;
      id_number: string | null;
    }>(
      `SELECT front_key, outcome, error_code, id_number FROM cards WHERE run_id = $1 AND front_key NOT LIKE 'faults/card-%' ORDER BY 1`,
      [run.runId],
    );
    const stats = p.emulator.stats();
    const faultCalls = Object.entries(stats.byCode)
      .filter(([code]) => code in FAULTS)
      .reduce((n, [, c]) => n + c, 0);
    printFigures('40% transient faults', {
      ...figures,
      goodCards: good.length,
      recognizedGood: recognizedGood.rows[0]?.n,
      faultShare: Number((faultCalls / stats.calls).toFixed(3)),
      byCode: stats.byCode,
      rejectCalls,
      retriesAfterReject,
      downscaledAfterTooLarge,
      badInputs: Object.fromEntries(
        faultRows.rows.map((r) => [r.front_key, `${r.outcome} ${r.error_code ?? r.id_number ?? ''}`.trim()]),
      ),
      wallMs: Date.now() - started,
    });
    expect(recognizedGood.rows[0]?.n).toBe(good.length);
    // The oversize scan is recognized once downscaled; truncated and not-a-card are rejected by the
    // API, text-as-jpg by the worker's pre-flight before any call.
    expect(figures.byOutcome).toEqual({ recognized: good.length + 1, rejected: 3, skipped: 2 });
    expect(figures.lost).toBe(0);
    expect(figures.duplicateRows).toBe(0);
    expect(rejectCalls).toBe(2);
    expect(retriesAfterReject).toBe(0);
    expect(downscaledAfterTooLarge).toBe(1);
    expect(figures.billed).toBe(good.length + 1);
    // Dropped connections and gateway errors are recorded too (as client codes): the ledger is complete.
    expect(figures.ledgerCalls).toBe(figures.calls);
  });
});
