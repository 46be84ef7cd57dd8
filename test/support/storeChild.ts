// A second process for the embedded-sharing test: opens the store in the directory given,
// creates a run and prints what it was (its role and the run id) as one JSON line.
import { ResultsStore } from '../../src/results/store.js';

const [dataDir, schema] = process.argv.slice(2);
try {
  const store = await ResultsStore.open({ dataDir: dataDir!, schema: schema! });
  const run = await store.createRun({ sources: ['from-child'] });
  process.stdout.write(`${JSON.stringify({ role: store.db.role, run: run.id })}\n`);
  await store.close();
} catch (e) {
  process.stdout.write(`${JSON.stringify({ error: (e as Error).message, name: (e as Error).name })}\n`);
  process.exitCode = 1;
}
