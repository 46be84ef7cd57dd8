// How fast does the results store record outcomes, and export a run, on PGlite and PostgreSQL?
//   npm run bench -- results-store [--cards 100000] [--database-url postgres://...]
// Bars: export of 100,000 cards under 150 MB peak RSS; recording >= 500 cards/s on PostgreSQL.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { versionId } from '../src/results/cardVersion.js';
import { ResultsStore } from '../src/results/store.js';
import type { CardResult } from '../src/results/types.js';
import { dropSchema } from '../test/support/store.js';
import { cardFields } from './lib/cards.js';
import { fmt, printTable, runNodeChild } from './lib.js';

const { values: args } = parseArgs({
  options: {
    cards: { type: 'string', default: '100000' },
    single: { type: 'string', default: '3000' },
    'database-url': {
      type: 'string',
      default: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    },
  },
});
const N = Number(args.cards);
// The export children run the compiled program, as `macao-ocr report` does.
execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
const SINGLE = Number(args.single);
const databaseUrl = args['database-url']!;

function card(i: number, runId: string): CardResult {
  const v = {
    bucket: 'bench',
    frontKey: `cards/${String(i).padStart(7, '0')}_front.jpg`,
    frontEtag: `e${i}`,
  };
  return {
    ...v,
    versionId: versionId(v),
    runId,
    outcome: i % 10 === 0 ? 'rejected' : 'recognized',
    attempts: 1,
    latencyMs: 250,
    requestId: randomBytes(16).toString('hex'),
    fields: cardFields(`1${String(i).padStart(6, '0')}(3)`),
    warnings: i % 7 === 0 ? [{ code: -9102, name: 'photocopy' }] : [],
    checks: [],
    ...(i % 10 === 0 ? { errorCode: 'FailedOperation.ImageNoSpecifiedCard', fields: undefined } : {}),
  };
}

async function pool8<T>(items: T[], fn: (t: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

const results: (string | number)[][] = [
  [
    'back end',
    'record single (cards/s, 8 concurrent)',
    'record batched (cards/s, 500/stmt)',
    'export JSONL (rows/s)',
    'export CSV (rows/s)',
    'peak RSS: open only',
    'peak RSS: export JSONL',
    'peak RSS: export CSV',
  ],
];
for (const backend of ['pglite', 'postgres'] as const) {
  const dataDir = mkdtempSync(join(tmpdir(), 'macao-ocr-bench-store-'));
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const url = backend === 'postgres' ? databaseUrl : '-';
  const store = await ResultsStore.open({
    migrate: true,
    dataDir,
    schema,
    ...(backend === 'postgres' ? { databaseUrl } : {}),
  });
  try {
    const runId = (await store.createRun({ sources: ['s3://bench/cards/'] })).id;
    const singles = Array.from({ length: SINGLE }, (_, i) => card(N + i, runId));
    let t = performance.now();
    await pool8(singles, (c) => store.recordOutcome(c));
    const singleRate = SINGLE / ((performance.now() - t) / 1000);
    const all = Array.from({ length: N }, (_, i) => card(i, runId));
    t = performance.now();
    await store.recordOutcomes(all);
    const batchRate = N / ((performance.now() - t) / 1000);
    await store.close();
    type R = { rows: number; ms: number; maxRssMb: number };
    const child = (mode: string) =>
      runNodeChild<R>('bench/results-store.child.mjs', [mode, runId, dataDir, schema, url]);
    const open = await child('open');
    const jsonl = await child('jsonl');
    const csv = await child('csv');
    if (jsonl.rows !== N + SINGLE || csv.rows !== N + SINGLE)
      throw new Error(`exported ${jsonl.rows}/${csv.rows} rows, expected ${N + SINGLE}`);
    results.push([
      backend === 'pglite' ? 'PGlite (embedded)' : 'PostgreSQL 15',
      fmt(singleRate),
      fmt(batchRate),
      fmt(jsonl.rows / (jsonl.ms / 1000)),
      fmt(csv.rows / (csv.ms / 1000)),
      `${fmt(open.maxRssMb)} MB`,
      `${fmt(jsonl.maxRssMb)} MB`,
      `${fmt(csv.maxRssMb)} MB`,
    ]);
  } finally {
    if (backend === 'postgres') await dropSchema(databaseUrl, schema);
    rmSync(dataDir, { recursive: true, force: true });
  }
}
console.log(
  `\nresults store, ${fmt(N + SINGLE)} cards in the exported run (${fmt(SINGLE)} recorded singly, ${fmt(N)} batched)\n`,
);
printTable(results);
