import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { Command } from 'commander';
import type { ExportOptions } from '../results/exportCards.js';
import { type CardLineFields, formatCardLine, formatRunReport, loadRunReport } from '../results/report.js';
import { OUTCOMES, type Outcome } from '../results/types.js';
import type { QueueServices } from '../services.js';
import { resolveRun, withQueueServices } from './common.js';
import { keepHeapSmall } from './heap.js';
import { collect } from './options.js';
import { UsageError } from './usageError.js';

/** The options of `report`, as commander parses them. */
interface ReportFlags {
  format: string;
  out?: string;
  outcome?: string[];
  code?: string;
}

/** `exportCards`, loaded when `report` runs (not when the command line is parsed). */
type ExportCards = typeof import('../results/exportCards.js').exportCards;

/** Registers `report`: a run's summary and its cards as a table, CSV or JSONL. */
export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description('a run card by card: summary on top, then one line per card version')
    .argument('[RUN]', 'run id (default: the newest run)')
    .option('--format <table|csv|jsonl>', 'table on a terminal; csv or jsonl for files and scripts', 'table')
    .option('--out <FILE>', 'write the cards to FILE instead of standard output (a new file: mode 0600)')
    .option(
      '--outcome <OUTCOME,...>',
      'only these outcomes (recognized, rejected, failed, skipped, pending)',
      collect,
    )
    .option('--code <CODE>', 'only cards whose last error code is CODE')
    .action(async (run: string | undefined, o: ReportFlags) => {
      checkReportFlags(o);
      keepHeapSmall();
      const { exportCards } = await import('../results/exportCards.js');
      await withQueueServices(async (s) => {
        const runId = await resolveRun(s.store, run);
        // A reader's role may not select the personal columns: the report goes on without them.
        const personal = await s.store.canReadPersonalData();
        if (!personal)
          console.error(
            'report: this database role may not read personal data: fields and portraits are left out',
          );
        const filter = {
          runId,
          outcomes: o.outcome as (Outcome | 'pending')[] | undefined,
          errorCode: o.code,
          personal,
        };
        const n =
          o.format === 'table'
            ? await printTable(exportCards, s, filter)
            : await exportTo(exportCards, s, { ...filter, format: o.format as 'csv' | 'jsonl' }, o.out);
        // Who exported whose data, and where to: the audit log keeps it.
        await s.store.audit({
          command: 'report',
          args: process.argv.slice(3),
          counts: { cards: n, personal: personal ? 1 : 0 },
        });
      });
    });
}

function checkReportFlags(o: ReportFlags): void {
  if (!['table', 'csv', 'jsonl'].includes(o.format))
    throw new UsageError(`--format must be table, csv or jsonl, got \`${o.format}\``);
  for (const x of o.outcome ?? []) {
    if (![...OUTCOMES, 'pending'].includes(x)) {
      throw new UsageError(`--outcome must be among ${[...OUTCOMES, 'pending'].join(', ')}, got \`${x}\``);
    }
  }
}

/** The run's summary, a blank line, then one {@link formatCardLine} per card, on standard output. */
async function printTable(
  exportCards: ExportCards,
  s: QueueServices,
  filter: Omit<ExportOptions, 'format'>,
): Promise<number> {
  const report = await loadRunReport(s.store, filter.runId);
  if (report) console.log(formatRunReport(report));
  console.log('');
  const lines: string[] = [];
  // The export's JSONL, read back a chunk of whole lines at a time, keeps the table's filter
  // and order those of the other formats.
  const sink = {
    write(chunk: string) {
      for (const l of chunk.split('\n').filter(Boolean))
        lines.push(formatCardLine(JSON.parse(l) as CardLineFields));
      return true;
    },
  };
  await exportCards(s.store.pool, sink as unknown as NodeJS.WritableStream as never, {
    ...filter,
    format: 'jsonl',
  });
  console.log(lines.join('\n'));
  return lines.length;
}

/** The cards as CSV or JSONL, to `out` or standard output. */
async function exportTo(
  exportCards: ExportCards,
  s: QueueServices,
  opts: ExportOptions,
  outFile: string | undefined,
): Promise<number> {
  // Card data: a new file is its owner's alone. An existing file keeps the mode its owner gave it.
  const out = outFile ? createWriteStream(outFile, { mode: 0o600 }) : process.stdout;
  const n = await exportCards(s.store.pool, out, opts);
  if (outFile) {
    (out as ReturnType<typeof createWriteStream>).end();
    await once(out, 'finish');
    console.error(`wrote ${n} cards of run ${opts.runId} to ${outFile}`);
  }
  return n;
}
