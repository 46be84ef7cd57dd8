// Child of bench/results-store.ts: opens the store (so PGlite's own memory counts, as in a
// `report` command), exports one run in the format given to /dev/null (or only opens, for the
// baseline), and prints {rows, ms, maxRssMb}.
import { createWriteStream } from 'node:fs';
import { exportCards } from '../src/results/exportCards.js';
import { ResultsStore } from '../src/results/store.js';
import { peakRssMb } from './lib.js';

const [mode, runId, dataDir, schema, databaseUrl] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const store = await ResultsStore.open({ dataDir, schema, ...(databaseUrl !== '-' ? { databaseUrl } : {}) });
const t0 = performance.now();
let rows = 0;
if (mode !== 'open') {
  const out = createWriteStream('/dev/null');
  rows = await exportCards(store.pool, out, { runId, format: mode as 'csv' | 'jsonl' });
  await new Promise<void>((r) => out.end(r));
}
const ms = performance.now() - t0;
await store.close();
console.log(JSON.stringify({ rows, ms, maxRssMb: peakRssMb() }));
