import { main } from '../../src/cli/main.js';

/**
 * Runs `macao-ocr ARGS` in-process with these environment variables, capturing what it prints
 * (commander writes help and usage errors itself; commands use console). Restores everything.
 */
export async function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const saved = { ...process.env };
  Object.assign(process.env, env);
  const writeOut = process.stdout.write;
  const writeErr = process.stderr.write;
  const { log, error } = console;
  const capture =
    (to: 'out' | 'err') =>
    (chunk: string | Uint8Array): boolean => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
      if (to === 'out') out += text;
      else err += text;
      return true;
    };
  process.stdout.write = capture('out') as typeof process.stdout.write;
  process.stderr.write = capture('err') as typeof process.stderr.write;
  console.log = (...a: unknown[]): void => {
    out += `${a.join(' ')}\n`;
  };
  console.error = (...a: unknown[]): void => {
    err += `${a.join(' ')}\n`;
  };
  try {
    const code = await main(['node', 'macao-ocr', ...args]);
    return { code, out, err };
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
    console.log = log;
    console.error = error;
    process.exitCode = undefined;
    process.env = saved;
  }
}
