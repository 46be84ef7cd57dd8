// How long does the installed `macao-ocr` take to start, and how much memory does it use, for the
// commands scripts call often? Bare Node, measured in the same run, is the baseline.
//   npm run bench -- startup [--runs 15] [--no-build] [--database-url postgres://...] [--redis-url ...]
//                            [--only CASE,...]  (help, version, config, status-pg, status-embedded)
//                            [--node PATH]  (the Node that runs every case, bare Node included;
//                                            default this one; .ci/run keeps Node 24 in
//                                            ~/.cache/macao-id-ocr-batch/node-v24.22.3/bin/node)
// Bars: `--help` median wall <= 5 x bare Node's; `--help` peak RSS <= 80 MB.
// Goal: `status --json` median wall <= 300 ms, on PostgreSQL and on the embedded store.
//
// Each case runs as the installed command does, `node bin/macao-ocr.js ...` on dist/ (built first),
// in a scratch working directory (no `.env` is read) without npm's, NODE_OPTIONS or macao-ocr's
// variables from this shell. `status --json` on PostgreSQL uses a fresh database, dropped at the
// end; on the embedded store it asks a running `macao-ocr work` serving a fresh data directory.
// The queue has a fresh name; its Redis keys are deleted at the end.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { CONFIG_VARIABLES } from '../src/config.js';
import { ResultsStore } from '../src/results/store.js';
import { until } from '../test/support/processes.js';
import { createDatabase } from '../test/support/store.js';
import { stopChild } from './lib/processes.js';
import { describeCommit, describeMachine, SERVICE_OPTIONS } from './lib/setup.js';
import { fmt, printTable } from './lib.js';

const CASES = ['help', 'version', 'config', 'status-pg', 'status-embedded'];
const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '15' },
    'no-build': { type: 'boolean', default: false },
    only: { type: 'string', default: CASES.join(',') },
    ...SERVICE_OPTIONS,
    node: { type: 'string', default: process.execPath },
  },
});
const NODE = resolve(args.node!);
const nodeVersion = execFileSync(NODE, ['--version'], { encoding: 'utf8' }).trim();
const RUNS = Number(args.runs);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`--runs must be an integer >= 1, got ${args.runs}`);
const only = args.only!.split(',').map((s) => s.trim());
const unknown = only.filter((c) => !CASES.includes(c));
if (unknown.length) throw new Error(`--only: unknown ${unknown}; cases: ${CASES}`);

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin', 'macao-ocr.js');
if (!args['no-build']) {
  try {
    execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  } catch {
    console.error('bench startup: `npm run build` failed (above); fix it, or pass --no-build to time dist/');
    process.exit(1);
  }
}
if (!existsSync(join(root, 'dist/cli/bin.js'))) throw new Error('no dist/cli/bin.js: run `npm run build`');

const work = mkdtempSync(join(tmpdir(), 'macao-ocr-bench-startup-'));
const queueName = `bench-startup-${randomBytes(4).toString('hex')}`;
const hwmFile = join(work, 'vmhwm');
// Peak RSS must be the child's own: Linux carries `resourceUsage().maxRSS` across execve, so a
// child of this (larger) process would report this process's peak. So the child reads its own
// VmHWM as it exits; the CLI ends with process.exit(), and 'exit' handlers still run then. Every
// case, bare Node included, loads this preload, so its cost is in the baseline too. It removes
// the variable so that a process the command spawns does not write over the figure.
const preload = join(work, 'vmhwm-preload.mjs');
writeFileSync(
  preload,
  `import { readFileSync, writeFileSync } from 'node:fs';
const out = process.env.BENCH_VMHWM_FILE;
delete process.env.BENCH_VMHWM_FILE;
if (out) process.on('exit', () =>
  writeFileSync(out, /VmHWM:\\s+(\\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? ''));
`,
);

type Env = Record<string, string>;
// npm_package_version would feed `--version`; an installed user has none of these.
const baseEnv: Env = {};
for (const [k, v] of Object.entries(process.env)) {
  const drop = (CONFIG_VARIABLES as readonly string[]).includes(k) || k.startsWith('npm_');
  if (v !== undefined && !drop && k !== 'NODE_OPTIONS') baseEnv[k] = v;
}
Object.assign(baseEnv, {
  REDIS_URL: args['redis-url']!,
  MACAO_OCR_QUEUE: queueName,
  MACAO_OCR_DATA_DIR: join(work, 'data-unused'),
});

/** Spawns node in the scratch directory and collects its output. */
function node(argv: string[], env: Env): { child: ChildProcess; out: { stdout: string; stderr: string } } {
  const child = spawn(NODE, argv, { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  for (const s of ['stdout', 'stderr'] as const) {
    child[s]!.setEncoding('utf8').on('data', (d: string) => {
      out[s] += d;
    });
  }
  return { child, out };
}

interface Case {
  key: string;
  name: string;
  argv: string[];
  env?: Env;
  /** What is wrong with the output, if anything (returned or thrown). */
  check(stdout: string): string | undefined;
}
type Run = { ms: number; rssMb: number };

async function runOnce(c: Case): Promise<Run> {
  rmSync(hwmFile, { force: true });
  const t0 = performance.now();
  const env = { ...baseEnv, ...c.env, BENCH_VMHWM_FILE: hwmFile };
  const { child, out } = node(['--import', preload, ...c.argv], env);
  let ms = 0;
  child.on('exit', () => {
    ms = performance.now() - t0;
  });
  const code = await new Promise<number | string | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, sig) => resolve(code ?? sig));
  });
  let wrong: string | undefined = `exited ${code}`;
  try {
    if (code === 0) wrong = c.check(out.stdout);
  } catch (e) {
    wrong = String(e);
  }
  if (wrong) throw new Error(`${c.name}: ${wrong}\n--- stdout:\n${out.stdout}\n--- stderr:\n${out.stderr}`);
  const kb = existsSync(hwmFile) ? Number(readFileSync(hwmFile, 'utf8')) : 0;
  if (!(kb > 0)) throw new Error(`${c.name}: the preload wrote no VmHWM`);
  return { ms, rssMb: kb / 1024 };
}

async function measure(c: Case): Promise<Run[]> {
  await runOnce(c);
  const runs: Run[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await runOnce(c));
  return runs;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const cli = (key: string, argv: string[], check: Case['check'], env?: Env): Case => ({
  key,
  name: `macao-ocr ${argv.join(' ')}`,
  argv: [bin, ...argv],
  env,
  check,
});

const cleanups: (() => Promise<unknown>)[] = [];

/** A fresh database (`macao-ocr` uses schema public) holding one run; dropped at the end. */
async function postgresStore(): Promise<{ env: Env; runId: string }> {
  const db = await createDatabase(args['database-url']!, 'bench_startup');
  cleanups.push(db.drop);
  // Opening the store applies the migrations, so the timed runs find the schema in place.
  const store = await ResultsStore.open({ databaseUrl: db.url, dataDir: work, migrate: true });
  const run = await store.createRun({ sources: ['s3://bench/startup/'] });
  await store.close();
  return { env: { DATABASE_URL: db.url }, runId: run.id };
}

/** A `macao-ocr work` serving a fresh embedded store holding one run; stopped at the end. */
async function embeddedStore(): Promise<{ env: Env; runId: string }> {
  const dataDir = join(work, 'embedded');
  const env = { MACAO_OCR_DATA_DIR: dataDir };
  // The queue is empty, so the OCR API is never called, but `work` will not start without a key.
  const ocr = { TENCENTCLOUD_SECRET_ID: 'AKIDbench', TENCENTCLOUD_SECRET_KEY: 'bench' };
  const { child, out } = node([bin, 'work'], {
    ...baseEnv,
    ...env,
    ...ocr,
    OCR_ENDPOINT: 'http://127.0.0.1:9',
  });
  cleanups.push(() => stopChild(child, 40_000));
  // Wait for `work` to have opened everything, not only for its socket: the owner serves the
  // directory before it has applied the migrations, and a second process migrating meanwhile
  // races it (the advisory lock in migrate.ts does not exclude on PGlite: one shared session).
  const log = (): string => `${out.stdout}${out.stderr}`;
  await until(
    () => {
      if (out.stdout.includes('worker started')) return true;
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`\`work\` exited ${child.exitCode ?? child.signalCode}:\n${log()}`);
      return false;
    },
    60_000,
    () => `\`work\` to start:\n${log()}`,
  );
  const store = await ResultsStore.open({ dataDir });
  const run = await store.createRun({ sources: ['s3://bench/startup/'] });
  await store.close();
  return { env, runId: run.id };
}

/** Deletes the queue's keys: `{macao-ocr}:<queue>:...`, and any other naming the queue. */
async function deleteQueueKeys(): Promise<void> {
  const redis = new Redis(args['redis-url']!, { lazyConnect: true, retryStrategy: () => null });
  redis.on('error', () => undefined);
  await redis.connect();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `*${queueName}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
  redis.disconnect();
}
cleanups.push(deleteQueueKeys);

const cases: Case[] = [
  { key: 'node', name: 'node -e 0', argv: ['-e', '0'], check: () => undefined },
  cli('help', ['--help'], (o) => (o.includes('Usage:') ? undefined : 'no `Usage:` in stdout')),
  cli('version', ['--version'], (o) => (/^\d+\.\d+\.\d+/.test(o.trim()) ? undefined : 'not a version')),
  cli('config', ['config'], (o) => void JSON.parse(o)),
];
const STATUS = {
  'status-pg': 'macao-ocr status --json (PostgreSQL)',
  'status-embedded': 'macao-ocr status --json (embedded)',
};
const results = new Map<string, Run[]>();
try {
  for (const c of cases) if (c.key === 'node' || only.includes(c.key)) results.set(c.name, await measure(c));
  for (const [key, name] of Object.entries(STATUS)) {
    if (!only.includes(key)) continue;
    const { env, runId } = await (key === 'status-pg' ? postgresStore() : embeddedStore());
    const check = (o: string) =>
      (JSON.parse(o) as { run?: string }).run === runId ? undefined : 'other run';
    results.set(name, await measure({ ...cli(key, ['status', '--json'], check, env), name }));
  }
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch((e: unknown) => console.error(e));
  rmSync(work, { recursive: true, force: true });
}

const nodeMs = median(results.get('node -e 0')!.map((r) => r.ms));
const stats = new Map<string, { ms: number; peak: number }>();
const rows: (string | number)[][] = [
  ['case', 'runs', 'median wall ms', '× bare node', 'peak RSS MB (max)', 'median RSS MB'],
];
for (const [name, runs] of results) {
  const [ms, rss] = [median(runs.map((r) => r.ms)), runs.map((r) => r.rssMb)];
  const peak = Math.max(...rss);
  stats.set(name, { ms, peak });
  rows.push([name, runs.length, fmt(ms, 1), fmt(ms / nodeMs, 2), fmt(peak, 1), fmt(median(rss), 1)]);
}
console.log(`\nstart-up of the installed command (bin/macao-ocr.js, dist/), ${RUNS} runs after a warm-up`);
console.log(`machine: ${describeMachine(nodeVersion)}; commit ${describeCommit()}\n`);
printTable(rows);

const verdict = (ok: boolean): string => (ok ? 'MET' : 'NOT MET');
const help = stats.get('macao-ocr --help');
console.log('\nbars:');
if (help) {
  const x = `${fmt(help.ms, 1)} ms = ${fmt(help.ms / nodeMs, 2)}× bare node`;
  console.log(`  --help median wall <= 5 × bare node: ${x} — ${verdict(help.ms <= 5 * nodeMs)}`);
  console.log(`  --help peak RSS <= 80 MB: ${fmt(help.peak, 1)} MB — ${verdict(help.peak <= 80)}`);
} else console.log('  --help: not measured (--only)');
console.log('goal:');
for (const name of Object.values(STATUS)) {
  const ms = stats.get(name)?.ms;
  const figure = ms === undefined ? 'not measured (--only)' : `${fmt(ms, 1)} ms — ${verdict(ms <= 300)}`;
  console.log(`  ${name.replace('macao-ocr ', '')} median <= 300 ms: ${figure}`);
}
