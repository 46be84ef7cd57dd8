// Builds what the benchmarks' measured children run. Kept apart from bench/lib.ts, which the
// children themselves import: this module loads the TypeScript compiler (~60 MB), which must not
// count in a child's memory.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** The repository's root (this file is in bench/lib/). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Transpiles src/ and bench/ to plain JavaScript in `out` (types stripped, no type check), so the
 * measured children run as the CLI runs from dist/: the tsx loader alone adds 30-70 MB of RSS.
 * The other files of src/ (the worker's Redis scripts, `*.lua`) are copied beside them, as the
 * build copies them into dist/.
 */
export function transpileForChildren(out: string): void {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
      d.isDirectory() ? walk(join(dir, d.name)) : [join(dir, d.name)],
    );
  const isModule = (file: string): boolean => file.endsWith('.ts') && !file.endsWith('.d.ts');
  const src = walk(join(REPO_ROOT, 'src'));
  for (const file of [...src, ...walk(join(REPO_ROOT, 'bench'))].filter(isModule)) {
    const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
      fileName: file,
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
      },
    });
    const dest = join(out, relative(REPO_ROOT, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, outputText);
  }
  for (const file of src.filter((f) => !f.endsWith('.ts'))) {
    const dest = join(out, relative(REPO_ROOT, file));
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(file, dest);
  }
  writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(out, 'node_modules'));
  symlinkSync(join(REPO_ROOT, 'data'), join(out, 'data'));
}
