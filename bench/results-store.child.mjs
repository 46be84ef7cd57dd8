// Child of bench/results-store.ts, run on the compiled code (as `macao-ocr report` runs) so that
// its memory is the program's, not the TypeScript loader's. It opens the store (PGlite's own
// memory counts, as in a `report` command), exports one run to /dev/null in the format given
// (or only opens it, for the baseline), and prints {rows, ms, peakRssMb}.
import { createWriteStream, readFileSync } from 'node:fs';
import { keepHeapSmall } from '../dist/cli/heap.js';
import { exportCards } from '../dist/results/exportCards.js';
import { ResultsStore } from '../dist/results/store.js';

const [mode, runId, dataDir, schema, databaseUrl] = process.argv.slice(2);
// As `macao-ocr report` does (src/cli/reportCommand.ts), before anything is opened.
keepHeapSmall();
const peakRssMb = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
const store = await ResultsStore.open({ dataDir, schema, ...(databaseUrl !== '-' ? { databaseUrl } : {}) });
const t0 = performance.now();
let rows = 0;
if (mode !== 'open') {
  const out = createWriteStream('/dev/null');
  rows = await exportCards(store.pool, out, { runId, format: mode });
  await new Promise((r) => out.end(r));
}
const ms = performance.now() - t0;
await store.close();
console.log(JSON.stringify({ rows, ms, maxRssMb: peakRssMb() }));
