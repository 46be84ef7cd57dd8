import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The product and the sandbox apart: no production module (everything under src/ but
 * src/sandbox/) imports the sandbox, except the one door `src/cli/sandbox.ts` through which
 * `demo`, `emulator` and `samples` load it when they run; and production modules import no
 * package a production install (`npm prune --omit=dev`) leaves out.
 */

const SRC = resolve('src');
const SANDBOX = join(SRC, 'sandbox');
const DOOR = join(SRC, 'cli', 'sandbox.ts');

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string> };
const RUNTIME_PACKAGES = new Set(Object.keys(pkg.dependencies));

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** One module reference in a source file: what it names, and whether it survives compilation. */
interface Reference {
  specifier: string;
  typeOnly: boolean;
}

/**
 * The modules a file refers to: static imports and re-exports (`import type` is erased),
 * side-effect imports, dynamic `import()` and `typeof import()` in types.
 */
function references(source: string): Reference[] {
  const out: Reference[] = [];
  const statics = /^\s*(import|export)\s+(type\s+)?([^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm;
  for (const m of source.matchAll(statics)) out.push({ specifier: m[4]!, typeOnly: m[2] !== undefined });
  for (const m of source.matchAll(/(typeof\s+)?\bimport\(\s*['"]([^'"]+)['"]\s*\)/g))
    out.push({ specifier: m[2]!, typeOnly: m[1] !== undefined });
  return out;
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** What is wrong with one reference of a production file, or undefined. */
function violation(file: string, ref: Reference): string | undefined {
  const { specifier, typeOnly } = ref;
  if (specifier.startsWith('.')) {
    const target = resolve(dirname(file), specifier);
    if (target.startsWith(`${SANDBOX}/`) && file !== DOOR)
      return `imports the sandbox (${specifier}); only ${relative('.', DOOR)} may load it`;
    return undefined;
  }
  if (specifier.startsWith('node:') || builtinModules.includes(specifier) || typeOnly) return undefined;
  const name = packageName(specifier);
  if (!RUNTIME_PACKAGES.has(name))
    return `imports ${name}, which is not a runtime dependency (a production install leaves it out)`;
  return undefined;
}

function violations(file: string, source: string): string[] {
  return references(source)
    .map((r) => violation(file, r))
    .filter((v): v is string => v !== undefined)
    .map((v) => `${relative('.', file)}: ${v}`);
}

describe('the product and the sandbox apart', () => {
  const production = tsFiles(SRC).filter((f) => !f.startsWith(`${SANDBOX}/`));

  it('finds the modules a source file refers to, in every form', () => {
    const refs = references(
      [
        "import { a } from './a.js';",
        "import type { B } from '../sandbox/b.js';",
        "export { c } from './c.js';",
        "import './side.js';",
        "const d = await import('./d.js');",
        "type E = typeof import('../sandbox/e.js');",
        'import {\n  f,\n  type G,\n} from "./f.js";',
      ].join('\n'),
    );
    expect(refs).toEqual([
      { specifier: './a.js', typeOnly: false },
      { specifier: '../sandbox/b.js', typeOnly: true },
      { specifier: './c.js', typeOnly: false },
      { specifier: './side.js', typeOnly: false },
      { specifier: './f.js', typeOnly: false },
      { specifier: './d.js', typeOnly: false },
      { specifier: '../sandbox/e.js', typeOnly: true },
    ]);
  });

  it('would catch a production module that loads the sandbox or a development package', () => {
    const worker = join(SRC, 'worker', 'example.ts');
    expect(violations(worker, "import { startEmulator } from '../sandbox/emulator/index.js';")).toHaveLength(
      1,
    );
    expect(violations(worker, "const s = await import('../sandbox/demo.js');")).toHaveLength(1);
    expect(violations(worker, "import S3rver from 's3rver';")).toHaveLength(1);
    expect(violations(worker, "import { Queue } from 'bullmq';")).toEqual([]);
  });

  it('no production module imports the sandbox, and none imports a development package', () => {
    expect(production.length).toBeGreaterThan(50);
    const found = production.flatMap((f) => violations(f, readFileSync(f, 'utf8')));
    expect(found).toEqual([]);
  });

  it('the sandbox commands are the only way in, and only when they run', () => {
    const door = readFileSync(DOOR, 'utf8');
    const into = references(door).filter((r) => r.specifier.includes('/sandbox/') && !r.typeOnly);
    expect(into.map((r) => r.specifier)).toEqual(['../sandbox/commands.js']);
    // Dynamic: `import(...)` inside loadSandbox, never a static import at the top of the door.
    expect(door).not.toMatch(/^import[^\n]*sandbox\//m);
  });
});
