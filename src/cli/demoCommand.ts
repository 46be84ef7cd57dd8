import type { Command } from 'commander';
import { runDemo } from '../demo.js';
import { createLogger } from '../log.js';
import { formatRunReport } from '../results/report.js';
import { intOption } from './options.js';
import { progressPrinter } from './progress.js';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'the whole pipeline on embedded defaults, nothing to configure: specimens with bad inputs, the emulator, a throwaway Redis, PGlite',
    )
    .option('--count <N>', 'good specimen cards (bad inputs come on top)', '200')
    .option('--qps <N>', 'request rate of the emulator and the workers', '20')
    .option('--keep', 'keep the whole temporary folder (object store included)')
    .action(async (o: { count: string; qps: string; keep?: boolean }) => {
      const count = intOption('--count', o.count, 1, 100_000);
      const qps = intOption('--qps', o.qps, 1, 10_000);
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
      console.log('macao-ocr demo: the pipeline end to end, on this machine only\n');
      const t0 = Date.now();
      try {
        const r = await runDemo({
          count,
          qps,
          keep: o.keep ?? false,
          // Your own pair, if set, is used against the local emulator only (it never leaves this machine).
          credential:
            process.env.TENCENTCLOUD_SECRET_ID && process.env.TENCENTCLOUD_SECRET_KEY
              ? {
                  secretId: process.env.TENCENTCLOUD_SECRET_ID,
                  secretKey: process.env.TENCENTCLOUD_SECRET_KEY,
                }
              : undefined,
          logger,
          onStage: (m) => console.log(`  ${m}`),
          onProgress: progress.update,
          signal: stop.signal,
        });
        progress.done();
        console.log('');
        if (r.report) console.log(formatRunReport(r.report));
        const st = r.emulatorStats;
        console.log(
          `\n  emulator  ${st.calls} calls, ${st.billed} billed, peak ${st.peakPerSecond} calls/s (limit ${qps}); answers: ${Object.entries(
            st.byCode,
          )
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}`,
        );
        console.log(`\n  finished in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        console.log('\nWhere to look next:');
        console.log(`  the results store of this run:  export MACAO_OCR_DATA_DIR=${r.dir}/results`);
        console.log(`  every card, as CSV or JSONL:     npx macao-ocr report ${r.runId ?? ''} --format csv`);
        console.log(
          '  your own cards:                  README.md, "Pointing it at real Tencent Cloud and real S3 or COS"',
        );
        if (r.paused || r.interrupted) process.exitCode = 1;
      } finally {
        process.off('SIGINT', onSignal);
      }
    });
}
