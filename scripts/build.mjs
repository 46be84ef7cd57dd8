// Builds dist/ (`npm run build`): empties it, compiles src/ with tsc (tsconfig.build.json), and
// copies the files the compiled code reads beside itself (src/**/*.lua: the worker's Redis
// scripts) to the same place under it.
//
//   node scripts/build.mjs [--outDir DIR]
//
// --outDir builds elsewhere than dist/ (test/productionInstall.test.ts builds into a temporary
// install); a relative DIR is taken from the working directory, as tsc takes it.
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** What the compiled code reads at run time, besides the modules themselves. */
const ASSETS = ['.lua'];

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const { values } = parseArgs({ options: { outDir: { type: 'string' } } });
const outDir = resolve(values.outDir ?? join(root, 'dist'));

rmSync(outDir, { recursive: true, force: true });
execFileSync(
  process.execPath,
  [
    join(root, 'node_modules/typescript/bin/tsc'),
    '-p',
    join(root, 'tsconfig.build.json'),
    '--outDir',
    outDir,
  ],
  { stdio: 'inherit' },
);
for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !ASSETS.some((ext) => entry.name.endsWith(ext))) continue;
  const from = join(entry.parentPath, entry.name);
  cpSync(from, join(outDir, relative(src, from)));
}
