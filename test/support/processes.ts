import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { EmulatorStats } from '../../src/sandbox/emulator/stats.js';
import { type Pipeline, pipelineEnv } from './pipeline.js';

/** The CLI's entry point, by absolute path, so that a child may run in any working directory. */
export const BIN = fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url));
/** tsx's loader by URL: `--import tsx` would be resolved from the child's working directory. */
export const TSX = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;

/** A `macao-ocr work` process on the pipeline's queue, store, bucket and emulator. */
export interface WorkerProcess {
  child: ChildProcess;
  /** Everything it printed (JSON log lines). */
  output: () => string;
  exited: Promise<number | null>;
}

export function spawnWorker(
  p: Pipeline,
  args: string[] = [],
  env: Record<string, string> = {},
  opts: { cwd?: string } = {},
): WorkerProcess {
  return spawnWork({ ...pipelineEnv(p), ...env }, args, opts);
}

/**
 * A `macao-ocr work ...args` process with `env` over this process's environment (`serviceEnv`
 * names the services), logging at info level unless `env` sets LOG_LEVEL.
 */
export function spawnWork(
  env: Record<string, string>,
  args: string[] = [],
  opts: { cwd?: string } = {},
): WorkerProcess {
  const child = spawn(process.execPath, ['--import', TSX, BIN, 'work', ...args], {
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return watchProcess(child);
}

/** A child's standard output and error together, as they come, and its exit code. */
export function watchProcess(child: ChildProcess): WorkerProcess {
  let out = '';
  const append = (d: Buffer): void => {
    out += d.toString();
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

/** A `macao-ocr emulator` in a process of its own. */
export interface EmulatorProcess {
  child: ChildProcess;
  url: string;
  stats: () => Promise<EmulatorStats>;
}

/**
 * Starts `macao-ocr emulator --port 0 ...args` with one credential and resolves once it listens.
 * Its own process: its clock can be moved apart from the test's, and the times it counts calls at
 * are not held up by whatever the test process is doing (the in-process emulator's event loop lagged
 * by up to 48 ms beside s3rver and the test's own work, and counted calls that much late).
 */
export async function spawnEmulator(
  credential: { secretId: string; secretKey: string },
  args: string[] = [],
): Promise<EmulatorProcess> {
  const child = spawn(process.execPath, ['--import', TSX, BIN, 'emulator', '--port', '0', ...args], {
    env: {
      ...process.env,
      TENCENTCLOUD_SECRET_ID: credential.secretId,
      TENCENTCLOUD_SECRET_KEY: credential.secretKey,
      LOG_LEVEL: 'silent',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (c) => reject(new Error(`emulator exited with ${c}`)));
  });
  const stats = async (): Promise<EmulatorStats> => {
    const res = await fetch(`${url}/_emulator/stats`);
    return (await res.json()) as EmulatorStats;
  };
  return { child, url, stats };
}

/**
 * Waits until `check` is true, polling every 50 ms. The timeout's error names `what`; a function
 * is called then (to show, say, what a process has printed so far).
 */
export async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string | (() => string),
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      const waited = typeof what === 'string' ? what : what();
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${waited}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
