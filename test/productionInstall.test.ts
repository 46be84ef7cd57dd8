import { execFileSync, spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Pipeline, pipelineEnv, startPipeline } from './support/pipeline.js';
import { until, type WorkerProcess, watchProcess } from './support/processes.js';

/**
 * The product as a production install has it: `npm prune --omit=dev` on a copy of this checkout,
 * compiled afresh, outside the repository (Node would otherwise find the development packages in
 * the checkout's own node_modules). Its commands run as processes against real Redis, the store,
 * an S3 server and the emulator (both hosted by this test, which has the full install); the
 * sandbox's commands must stop with a short message.
 */

const ROOT = new URL('..', import.meta.url).pathname;
/** Packages a production install must not carry: the sandbox's and the tests'. */
const LEFT_OUT = [
  's3rver',
  '@napi-rs/canvas',
  '@expo-google-fonts/noto-sans-hk',
  '@sparticuz/chromium',
  'vitest',
];

interface Result {
  code: number | null;
  out: string;
  err: string;
}

let dir: string;
let p: Pipeline;

function macaoOcr(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(dir, 'bin', 'macao-ocr.js'), ...args], {
      cwd: dir,
      env: { ...process.env, ...pipelineEnv(p), LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, out, err }));
  });
}

/** A long-running command: its output so far, and its exit. */
function background(args: string[]): WorkerProcess {
  const child = spawn(process.execPath, [join(dir, 'bin', 'macao-ocr.js'), ...args], {
    cwd: dir,
    env: { ...process.env, ...pipelineEnv(p), LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return watchProcess(child);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'macao-ocr-production-'));
  for (const f of ['package.json', 'package-lock.json', 'bin', 'data'])
    cpSync(join(ROOT, f), join(dir, f), { recursive: true });
  // The build `npm run build` runs (tsc, then the files the code reads beside itself), into the copy.
  execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--outDir', join(dir, 'dist')], {
    stdio: 'inherit',
  });
  // Hard links: a copy of node_modules in a second, that the prune below cannot harm.
  try {
    execFileSync('cp', ['-al', join(ROOT, 'node_modules'), join(dir, 'node_modules')]);
  } catch {
    rmSync(join(dir, 'node_modules'), { recursive: true, force: true });
    execFileSync('cp', ['-a', join(ROOT, 'node_modules'), join(dir, 'node_modules')]);
  }
  execFileSync('npm', ['prune', '--omit=dev', '--offline', '--no-audit', '--no-fund'], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  p = await startPipeline({ redisUrl: inject('redisUrl'), databaseUrl: inject('databaseUrl') });
}, 180_000);

afterAll(async () => {
  await p?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a production install (npm prune --omit=dev)', () => {
  it('carries none of the sandbox and test packages, and has the runtime ones', () => {
    for (const name of LEFT_OUT) expect(existsSync(join(dir, 'node_modules', name)), name).toBe(false);
    for (const name of ['bullmq', 'sharp', '@electric-sql/pglite', 'tencentcloud-sdk-nodejs-common'])
      expect(existsSync(join(dir, 'node_modules', name)), name).toBe(true);
  });

  it('--help, --version and config work', async () => {
    const help = await macaoOcr(['--help']);
    expect(help.code).toBe(0);
    for (const c of ['enqueue', 'work', 'run', 'status', 'report', 'retry', 'resume', 'dashboard', 'config'])
      expect(help.out).toContain(`  ${c}`);
    const version = await macaoOcr(['--version']);
    expect(version.out.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const config = await macaoOcr(['config']);
    expect(config.code).toBe(0);
    const shown = JSON.parse(config.out) as { ocr: { endpoint: string } };
    expect(shown.ocr.endpoint).toBe(p.emulator.url);
    expect(config.out).not.toContain(pipelineEnv(p).TENCENTCLOUD_SECRET_KEY);
  });

  it('enqueue, work, status, report, retry and resume take a bucket through to its report', async () => {
    const cards = 4;
    await p.upload('prod/', { count: cards, seed: 21 });
    const worker = background(['work', '--grace-ms', '2000']);
    try {
      await until(() => worker.output().includes('worker started'), 30_000, 'the worker to start');
      const enqueue = await macaoOcr(['enqueue', `s3://${p.bucket}/prod/`]);
      expect(enqueue.code, enqueue.err).toBe(0);
      const runId = /^run (\S+):/.exec(enqueue.out)?.[1];
      expect(runId, enqueue.out).toBeDefined();
      let status: { pending: number; counts: { recognized: number } } | undefined;
      await until(
        async () => {
          const r = await macaoOcr(['status', runId!, '--json']);
          status = r.code === 0 ? JSON.parse(r.out) : undefined;
          return status?.pending === 0;
        },
        60_000,
        'the run to finish',
      );
      expect(status?.counts.recognized).toBe(cards);
      const report = await macaoOcr(['report', runId!, '--format', 'jsonl']);
      expect(report.code).toBe(0);
      const lines = report.out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { outcome: string });
      expect(lines.filter((l) => l.outcome === 'recognized')).toHaveLength(cards);
      const retry = await macaoOcr(['retry', runId!]);
      expect(retry.out).toContain('has no failed cards');
      const resume = await macaoOcr(['resume']);
      expect(resume.code).toBe(0);
    } finally {
      worker.child.kill('SIGTERM');
    }
    expect(await worker.exited).toBe(0);
  });

  it('run enqueues, works until drained and prints the report', async () => {
    const cards = 3;
    await p.upload('prod-run/', { count: cards, seed: 22 });
    const r = await macaoOcr(['run', `s3://${p.bucket}/prod-run/`]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(new RegExp(`recognized\\s+${cards}\\b`));
  });

  it('dashboard serves the queue', async () => {
    const d = background(['dashboard', '--port', '0']);
    try {
      await until(() => /dashboard: (http:\S+)/.test(d.output()), 30_000, 'the dashboard to listen');
      const url = /dashboard: (http:\S+)/.exec(d.output())![1]!;
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('<html');
    } finally {
      d.child.kill('SIGTERM');
    }
    expect(await d.exited).toBe(0);
  });

  it('a TypeScript program embeds it by its package name', async () => {
    const app = mkdtempSync(join(tmpdir(), 'macao-ocr-embedder-'));
    try {
      mkdirSync(join(app, 'node_modules'));
      symlinkSync(dir, join(app, 'node_modules', 'macao-id-ocr-batch'), 'dir');
      writeFileSync(join(app, 'package.json'), JSON.stringify({ type: 'module' }));
      writeFileSync(
        join(app, 'index.ts'),
        [
          "import { ERROR_ACTIONS, ResultsStore, createOcrClient, enqueueRun, startCardWorker } from 'macao-id-ocr-batch';",
          "import type { CardWorkerOptions, EnqueueOptions, Outcome } from 'macao-id-ocr-batch';",
          "const outcome: Outcome = 'recognized';",
          "type Qps = CardWorkerOptions['qps'];",
          "type Sources = EnqueueOptions['sources'];",
          'const qps: Qps = 5;',
          "const sources: Sources = ['s3://bucket/prefix/'];",
          'export const used = [enqueueRun, startCardWorker, ResultsStore.open, createOcrClient, ERROR_ACTIONS, outcome, qps, sources];',
        ].join('\n'),
      );
      writeFileSync(
        join(app, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            target: 'ES2022',
            strict: true,
            noEmit: true,
            types: ['node'],
            typeRoots: [join(dir, 'node_modules', '@types')],
          },
          files: ['index.ts'],
        }),
      );
      // Type-checked against the package's own declarations, its dependencies' types included.
      execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', app], {
        stdio: 'inherit',
      });
      const out = execFileSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          "const m = await import('macao-id-ocr-batch'); console.log(JSON.stringify(['enqueueRun', 'startCardWorker', 'ResultsStore'].map((n) => typeof m[n])));",
        ],
        { cwd: app, encoding: 'utf8' },
      );
      expect(JSON.parse(out)).toEqual(['function', 'function', 'function']);
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
  });

  it.each([['demo'], ['emulator'], ['samples', '--out', 'specimens']])(
    '%s stops with a short message saying what to install',
    async (...args) => {
      const r = await macaoOcr(args);
      expect(r.code).toBe(1);
      expect(r.out).toBe('');
      const lines = r.err.trim().split('\n');
      expect(lines.length).toBeLessThanOrEqual(3);
      expect(r.err).toContain(`\`${args[0]}\` is part of the sandbox`);
      expect(r.err).toContain('npm ci');
      expect(r.err).not.toMatch(/\bat .+:\d+:\d+/);
    },
  );

  it('says the same when the sandbox code itself is gone, as in the Docker image', async () => {
    renameSync(join(dir, 'dist', 'sandbox'), join(dir, 'sandbox-aside'));
    try {
      const r = await macaoOcr(['demo']);
      expect(r.code).toBe(1);
      expect(r.err.trim().split('\n').length).toBeLessThanOrEqual(3);
      expect(r.err).toContain('`demo` is part of the sandbox');
    } finally {
      renameSync(join(dir, 'sandbox-aside'), join(dir, 'dist', 'sandbox'));
    }
  });
});
