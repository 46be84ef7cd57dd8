import { type Pipeline, startPipeline } from './pipeline.js';
import { type CachedSample, sampleSet, uploadSamples } from './specimenCache.js';

/** What a chaos scenario measured: the figures RELIABILITY.md reports. */
export interface RunFigures {
  /** Card versions the run should end with (good fronts, plus faults that reach a worker). */
  cards: number;
  /** Rows of the run in the results store. */
  rows: number;
  byOutcome: Record<string, number>;
  /** Expected cards with no terminal row (missing, or still pending). */
  lost: number;
  /** Rows beyond one per card version, plus versions the API billed more than once. */
  duplicateRows: number;
  /** Successful (billed) calls the emulator answered. */
  billed: number;
  /** Every call the emulator received. */
  calls: number;
  /** Calls in the store's call ledger (api_calls). */
  ledgerCalls: number;
}

/** Counts a finished run against the front keys it should hold. */
export async function measureRun(
  p: Pipeline,
  runId: string,
  expectedFrontKeys: readonly string[],
): Promise<RunFigures> {
  const { rows } = await p.store.pool.query<{ front_key: string; outcome: string | null; pending: boolean }>(
    'SELECT front_key, outcome, pending FROM cards WHERE run_id = $1',
    [runId],
  );
  const byOutcome: Record<string, number> = {};
  const terminal = new Map<string, number>();
  for (const r of rows) {
    const k = r.pending || !r.outcome ? 'pending' : r.outcome;
    byOutcome[k] = (byOutcome[k] ?? 0) + 1;
    if (k !== 'pending') terminal.set(r.front_key, (terminal.get(r.front_key) ?? 0) + 1);
  }
  const lost = expectedFrontKeys.filter((k) => !terminal.has(k)).length;
  const duplicateRows = [...terminal.values()].reduce((n, c) => n + c - 1, 0);
  const ledger = await p.store.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM api_calls WHERE run_id = $1',
    [runId],
  );
  const stats = p.emulator.stats();
  return {
    cards: expectedFrontKeys.length,
    rows: rows.length,
    byOutcome,
    lost,
    duplicateRows,
    billed: stats.billed,
    calls: stats.calls,
    ledgerCalls: ledger.rows[0]?.n ?? 0,
  };
}

/** Prints a scenario's figures as one JSON line on stderr (copied into RELIABILITY.md). */
export function printFigures(scenario: string, figures: object): void {
  console.error(`CHAOS ${JSON.stringify({ scenario, ...figures })}`);
}

/**
 * Every chaos scenario's ground: a pipeline whose emulator answers 100 calls/s in 50-200 ms (plus
 * what `opts.emulator` adds), and the same 500 specimens uploaded under `prefix`.
 */
export async function startChaosPipeline(
  prefix: string,
  opts: Parameters<typeof startPipeline>[0],
): Promise<{ p: Pipeline; samples: CachedSample[] }> {
  const p = await startPipeline({ ...opts, emulator: { qps: 100, latencyMs: [50, 200], ...opts.emulator } });
  const samples = await sampleSet({ count: 500, seed: 5001 });
  await uploadSamples(p.s3, p.bucket, prefix, samples);
  return { p, samples };
}
