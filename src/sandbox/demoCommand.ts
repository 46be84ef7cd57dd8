import { spawn } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { constants } from 'node:os';
import { progressPrinter } from '../cli/progress.js';
import { createLogger } from '../log.js';
import { formatRunReport } from '../results/report.js';
import { runDemo } from './demo.js';

/** Whether this process can make the DES tokens s3rver pages its listings with (OpenSSL 3 keeps DES in its legacy provider). */
function desAvailable(): boolean {
  try {
    createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8));
    return true;
  } catch {
    return false;
  }
}

const REEXEC_ENV = 'MACAO_OCR_DEMO_LEGACY_OPENSSL';

/**
 * Runs this same command again in a child with `--openssl-legacy-provider` (the demo's in-process
 * s3rver cannot list past its first page without it) and resolves with its exit code. Ctrl-C
 * reaches the child from the terminal; a SIGTERM sent to this process is passed on.
 */
function rerunWithLegacyOpenssl(): Promise<number> {
  const child = spawn(
    process.execPath,
    [...process.execArgv, '--openssl-legacy-provider', ...process.argv.slice(1)],
    { stdio: 'inherit', env: { ...process.env, [REEXEC_ENV]: '1' } },
  );
  const onInt = (): void => undefined;
  const onTerm = (): void => {
    child.kill('SIGTERM');
  };
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 1));
    });
  });
}

/** With `--keep`: how to serve the kept bucket again and point commands at it and at the kept store. */
function keptHints(dir: string): string[] {
  return [
    `  what --keep kept, in ${dir}:`,
    `    the bucket, served again:      NODE_OPTIONS=--openssl-legacy-provider npx s3rver -d ${dir}/s3 --port 4568`,
    '    commands pointed at it:        S3_ENDPOINT=http://127.0.0.1:4568 S3_FORCE_PATH_STYLE=true AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1',
    `                                   MACAO_OCR_DATA_DIR=${dir}/results npx macao-ocr enqueue s3://demo-cards/scans/  (every card already-recognized: nothing is paid twice)`,
    '    the emulator and a worker:     README.md, "Five minutes by hand"',
  ];
}

/**
 * `macao-ocr demo`: tells the story through `print` (the command line's standard output) and
 * resolves with the exit code.
 */
export async function demoCommand(
  o: { count: number; qps: number; keep: boolean },
  print: (text: string) => void,
): Promise<number> {
  if (!desAvailable() && !process.env[REEXEC_ENV]) return rerunWithLegacyOpenssl();
  // Logs go to stderr (JSON, or LOG_LEVEL=silent), the story and the report to stdout.
  const logger = createLogger({
    name: 'demo',
    level: process.env.LOG_LEVEL ?? 'warn',
    stream: 'stderr',
  });
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  const progress = progressPrinter(process.stdout);
  print('macao-ocr demo: the pipeline end to end, on this machine only\n');
  const t0 = Date.now();
  try {
    const r = await runDemo({
      count: o.count,
      qps: o.qps,
      keep: o.keep,
      // Your own pair, if set, is used against the local emulator only (it never leaves this machine).
      credential:
        process.env.TENCENTCLOUD_SECRET_ID && process.env.TENCENTCLOUD_SECRET_KEY
          ? {
              secretId: process.env.TENCENTCLOUD_SECRET_ID,
              secretKey: process.env.TENCENTCLOUD_SECRET_KEY,
            }
          : undefined,
      logger,
      onStage: (m) => print(`  ${m}`),
      onProgress: progress.update,
      signal: stop.signal,
    });
    progress.done();
    print('');
    if (r.report) print(formatRunReport(r.report));
    const st = r.emulatorStats;
    // The report counts as billed the errors whose billing the provider does not state; the
    // emulator bills answers only. Both numbers are right: the line says which is which.
    const unstated = (r.report?.summary.billedCalls ?? st.billed) - st.billed;
    print(
      `\n  emulator  ${st.calls} calls, ${st.billed} billed by the emulator${unstated > 0 ? ` (the report counts ${unstated} more as billed: errors whose billing the provider does not state)` : ''}, peak ${st.peakPerSecond} calls/s (limit ${o.qps}); answers: ${Object.entries(
        st.byCode,
      )
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
    print(`\n  finished in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    print('\nWhere to look next:');
    print(`  the results store of this run:  export MACAO_OCR_DATA_DIR=${r.dir}/results`);
    print(`  every card, as CSV or JSONL:     npx macao-ocr report ${r.runId ?? ''} --format csv`);
    if (o.keep) for (const line of keptHints(r.dir)) print(line);
    print(
      '  your own cards:                  README.md, "Pointing it at real Tencent Cloud and real S3 or COS"',
    );
    return r.paused || r.interrupted ? 1 : 0;
  } finally {
    process.off('SIGINT', onSignal);
  }
}
