import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
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
  const child = spawn(process.execPath, ['--import', TSX, BIN, 'work', ...args], {
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    env: {
      ...process.env,
      ...pipelineEnv(p),
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

/** Waits until `check` is true, polling every 50 ms. */
export async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
