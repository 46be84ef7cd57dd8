import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { Command } from 'commander';
import type { ExportOptions } from '../results/exportCards.js';
import type { ResultsStore } from '../results/store.js';
import { OUTCOMES, type Outcome } from '../results/types.js';
import { auditCommand, resolveRun, withStore } from './common.js';
import { keepHeapSmall } from './heap.js';
import { collect } from './options.js';
import { UsageError } from './usageError.js';

/** The options of `report`, as commander parses them. */
interface ReportFlags {
  format: string;
  out?: string;
  outcome?: string[];
  code?: string;
  flagged?: boolean;
  warning?: string;
  check?: string;
}

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
    .option(
      '--flagged',
      'only recognized cards with an API warning or a finding of our checks: a reviewer’s list',
    )
    .option(
      '--warning <CODE>',
      'only recognized cards with this API warning, by code or name (-9108 or blurry)',
    )
    .option('--check <CODE>', 'only recognized cards with this finding of our checks (e.g. ID.CheckDigit)')
    .action(async (run: string | undefined, o: ReportFlags) => {
      checkReportFlags(o);
      keepHeapSmall();
      // The results store alone: a reader's login needs no Redis.
      await withStore(async (store) => {
        const runId = await resolveRun(store, run);
        // A reader's role may not select the personal columns: the report goes on without them.
        const personal = await store.canReadPersonalData();
        if (!personal)
          console.error(
            'report: this database role may not read personal data: fields and portraits are left out',
          );
        const filter = {
          runId,
          outcomes: o.outcome as (Outcome | 'pending')[] | undefined,
          errorCode: o.code,
          flagged: o.flagged,
          warning: o.warning,
          check: o.check,
          personal,
        };
        const n =
          o.format === 'table'
            ? await printTable(store, filter)
            : await exportTo(store, { ...filter, format: o.format as 'csv' | 'jsonl' }, o.out);
        // Who exported whose data, and where to: the audit log keeps it.
        await auditCommand(store, 'report', { cards: n, personal: personal ? 1 : 0 });
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

/**
 * The run's summary, a blank line, then one {@link formatCardLine} per card sorted by front key,
 * on standard output. The export's own records and filter; CSV and JSONL stream in version order.
 */
async function printTable(store: ResultsStore, filter: Omit<ExportOptions, 'format'>): Promise<number> {
  const { formatCardLine, formatRunReport, loadRunReport } = await import('../results/report.js');
  const { cardRecordPages } = await import('../results/exportCards.js');
  const report = await loadRunReport(store, filter.runId);
  if (report) console.log(formatRunReport(report));
  console.log('');
  const cards: { key: string; line: string }[] = [];
  for await (const page of cardRecordPages(store.pool, filter))
    for (const r of page) cards.push({ key: `${r.bucket}/${r.frontKey}`, line: formatCardLine(r) });
  cards.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  console.log(cards.map((c) => c.line).join('\n'));
  return cards.length;
}

/** The cards as CSV or JSONL, to `out` or standard output. */
async function exportTo(
  store: ResultsStore,
  opts: ExportOptions,
  outFile: string | undefined,
): Promise<number> {
  const { exportCards } = await import('../results/exportCards.js');
  // Card data: a new file is its owner's alone. An existing file keeps the mode its owner gave it.
  const out = outFile ? createWriteStream(outFile, { mode: 0o600 }) : process.stdout;
  const n = await exportCards(store.pool, out, opts);
  if (outFile) {
    (out as ReturnType<typeof createWriteStream>).end();
    await once(out, 'finish');
    console.error(`wrote ${n} cards of run ${opts.runId} to ${outFile}`);
  }
  return n;
}
