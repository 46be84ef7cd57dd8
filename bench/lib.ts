import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';

/** Prints an aligned table (first row = header). */
export function printTable(rows: (string | number)[][]): void {
  const cells = rows.map((r) => r.map(String));
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(cells[0]!));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of cells.slice(1)) console.log(line(r));
}

/** Runs a TypeScript child script with tsx and parses the JSON line it prints last. */
export async function runChild<T>(
  script: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<T> {
  return runNodeChild<T>(script, args, env, ['--import', 'tsx']);
}

/** Runs a plain JavaScript child script (e.g. one importing dist/) and parses the JSON line it prints last. */
export async function runNodeChild<T>(
  script: string,
  args: string[],
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
): Promise<T> {
  const { stdout } = await promisify(execFile)(process.execPath, [...nodeArgs, script, ...args], {
    env: { ...process.env, ...env },
    maxBuffer: 16 * 1024 * 1024,
  });
  const last = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as T;
}

export const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/**
 * Peak resident memory of this process in MB, from /proc (VmHWM). Not `resourceUsage().maxRSS`:
 * Linux keeps that across execve, so a child would report its parent's peak.
 */
export function peakRssMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** The repository's root (bench/ is one level down). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Transpiles src/ and bench/ to plain JavaScript in `out` (types stripped, no type check), so the
 * measured children run as the CLI runs from dist/: the tsx loader alone adds 30-70 MB of RSS.
 */
export function transpileForChildren(out: string): void {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
      d.isDirectory()
        ? walk(join(dir, d.name))
        : d.name.endsWith('.ts') && !d.name.endsWith('.d.ts')
          ? [join(dir, d.name)]
          : [],
    );
  for (const file of [...walk(join(REPO_ROOT, 'src')), ...walk(join(REPO_ROOT, 'bench'))]) {
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
  writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(out, 'node_modules'));
  symlinkSync(join(REPO_ROOT, 'data'), join(out, 'data'));
}
