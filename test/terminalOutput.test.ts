import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Pipeline, pipelineEnv, startPipeline } from './support/pipeline.js';
import { BIN, TSX, watchProcess } from './support/processes.js';

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes are what it removes
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

/** `argv` in a pseudo-terminal (`script`), on the pipeline's services, logging at info level. */
function onTerminal(p: Pipeline, argv: string[]): ReturnType<typeof watchProcess> {
  const command = argv.map((a) => `'${a}'`).join(' ');
  return watchProcess(
    spawn('script', ['-qec', command, '/dev/null'], {
      env: { ...process.env, ...pipelineEnv(p), LOG_LEVEL: 'info', TERM: 'xterm' },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
}

/** What a person at a terminal sees of `run` and `work`, colours removed. */
describe('run on a terminal', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({ redisUrl: inject('redisUrl'), databaseUrl: inject('databaseUrl') });
    await p.upload('tty/', { count: 30, seed: 23, backRatio: 0 });
    // Some cards fail a call first: their retries are per-card lines too.
    p.emulator.configure({ faults: { 'FailedOperation.OcrFailed': 0.2 } });
  });
  afterAll(async () => p?.close());

  it('prints one progress line and at most 2 info lines over 30 cards, no JSON, no per-card line', async () => {
    const run = onTerminal(p, [process.execPath, '--import', TSX, BIN, 'run', `s3://${p.bucket}/tty/`]);
    const code = await run.exited;
    const text = run.output().replace(ANSI, '');
    const lines = text.split(/\r\n|\n/).filter((l) => l.trim() !== '');
    expect(code, text).toBe(0);
    const info = lines.filter((l) => /\bINFO\b/.test(l));
    expect(info.length, info.join('\n')).toBeLessThanOrEqual(2);
    expect(lines.filter((l) => l.trimStart().startsWith('{"'))).toEqual([]);
    expect(text).not.toContain('card done');
    expect(text).not.toContain('retried later');
    // The progress line is redrawn in place (\r), and ends at 30 of 30.
    expect(text).toMatch(/\r\s*\[#{24}\] 30\/30 cards/);
    expect(text).toMatch(/recognized\s+30/);
  });

  it('work on a terminal redraws one status line of the cards it finished, and no per-card line', async () => {
    await p.reset();
    await p.upload('ttyw/', { count: 5, seed: 24, backRatio: 0 });
    await p.enqueue('ttyw/');
    // `timeout` stops the worker with SIGTERM after a while, as an operator's Ctrl-C would.
    const work = onTerminal(p, [
      'timeout',
      '-s',
      'TERM',
      '12',
      process.execPath,
      '--import',
      TSX,
      BIN,
      'work',
    ]);
    await p.drained(30_000);
    await work.exited;
    const text = work.output().replace(ANSI, '');
    expect(text).toMatch(
      /\r {2}worker: 5 cards finished \(recognized 5, rejected 0, failed 0\), 0 in flight/,
    );
    expect(text).not.toContain('card done');
    expect(text.split(/\r\n|\n/).filter((l) => l.trimStart().startsWith('{"'))).toEqual([]);
  });
});
