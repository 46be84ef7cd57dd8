// `npm run bench -- NAME [args]`: runs bench/NAME.ts. Each benchmark prints a table comparing
// against a baseline measured in the same run; figures go to BENCHMARKS.md with the command.
// Every bench/*.ts file is a benchmark but this one, lib.ts and the children (`*.child.*`); what
// the benchmarks share lives in bench/lib/.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const names = readdirSync(here, { withFileTypes: true })
  .filter((f) => f.isFile() && f.name.endsWith('.ts'))
  .map((f) => f.name)
  .filter((f) => !['run.ts', 'lib.ts'].includes(f) && !f.includes('.child.'))
  .map((f) => f.replace(/\.ts$/, ''));
const [name, ...rest] = process.argv.slice(2);
if (!name || !names.includes(name)) {
  console.error(`usage: npm run bench -- NAME [args]; NAME is one of: ${names.join(', ')}`);
  process.exit(2);
}
process.argv = [process.argv[0]!, join(here, `${name}.ts`), ...rest];
await import(join(here, `${name}.ts`));
