import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { Command } from 'commander';
import { formatRunReport, loadRunReport } from '../results/report.js';
import { OUTCOMES, type Outcome } from '../results/types.js';
import { resolveRun, withQueueServices } from './common.js';
import { keepHeapSmall } from './heap.js';
import { collect } from './options.js';
import { UsageError } from './usageError.js';

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description('a run card by card: summary on top, then one line per card version')
    .argument('[RUN]', 'run id (default: the newest run)')
    .option('--format <table|csv|jsonl>', 'table on a terminal; csv or jsonl for files and scripts', 'table')
    .option('--out <FILE>', 'write the cards to FILE instead of standard output')
    .option(
      '--outcome <OUTCOME,...>',
      'only these outcomes (recognized, rejected, failed, skipped, pending)',
      collect,
    )
    .option('--code <CODE>', 'only cards whose last error code is CODE')
    .action(
      async (
        run: string | undefined,
        o: { format: string; out?: string; outcome?: string[]; code?: string },
      ) => {
        if (!['table', 'csv', 'jsonl'].includes(o.format))
          throw new UsageError(`--format must be table, csv or jsonl, got \`${o.format}\``);
        for (const x of o.outcome ?? []) {
          if (![...OUTCOMES, 'pending'].includes(x)) {
            throw new UsageError(
              `--outcome must be among ${[...OUTCOMES, 'pending'].join(', ')}, got \`${x}\``,
            );
          }
        }
        keepHeapSmall();
        const { exportCards } = await import('../results/exportCards.js');
        await withQueueServices(async (s) => {
          const runId = await resolveRun(s.store, run);
          const outcomes = o.outcome as (Outcome | 'pending')[] | undefined;
          if (o.format === 'table') {
            const report = await loadRunReport(s.store, runId);
            if (report) console.log(formatRunReport(report));
            console.log('');
            const lines: string[] = [];
            const sink = {
              write(chunk: string) {
                for (const l of chunk.split('\n').filter(Boolean)) {
                  const r = JSON.parse(l) as {
                    frontKey: string;
                    outcome: string;
                    errorCode: string | null;
                    warnings: { name: string }[];
                    checks: { code: string }[];
                  };
                  const notes = [
                    r.errorCode,
                    ...r.warnings.map((w) => w.name),
                    ...r.checks.map((c) => c.code),
                  ]
                    .filter(Boolean)
                    .join(' ');
                  lines.push(`  ${r.outcome.padEnd(11)} ${r.frontKey}${notes ? `  ${notes}` : ''}`);
                }
                return true;
              },
            };
            await exportCards(s.store.pool, sink as unknown as NodeJS.WritableStream as never, {
              runId,
              format: 'jsonl',
              outcomes,
              errorCode: o.code,
            });
            console.log(lines.join('\n'));
            return;
          }
          const out = o.out ? createWriteStream(o.out) : process.stdout;
          const n = await exportCards(s.store.pool, out, {
            runId,
            format: o.format as 'csv' | 'jsonl',
            outcomes,
            errorCode: o.code,
          });
          if (o.out) {
            (out as ReturnType<typeof createWriteStream>).end();
            await once(out, 'finish');
            console.error(`wrote ${n} cards of run ${runId} to ${o.out}`);
          }
        });
      },
    );
}
