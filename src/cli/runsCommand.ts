import type { Command } from 'commander';
import type { RunJson } from '../results/runLifecycle.js';
import { withStore } from './common.js';
import { intOption } from './options.js';

export function registerRunsCommand(program: Command): void {
  program
    .command('runs')
    .description('the runs, newest first: state, priority, sources and what became of their cards')
    .option('--json', 'one JSON array (stable shape)')
    .option('--limit <N>', 'at most N runs', '20')
    .action(async (o: { json?: boolean; limit: string }) => {
      const limit = intOption('--limit', o.limit, 1);
      const { runsJson } = await import('../results/runLifecycle.js');
      await withStore(async (store) => {
        const items = await runsJson(store, limit);
        if (o.json) console.log(JSON.stringify(items));
        else console.log(formatRuns(items));
      });
    });
}

function formatRuns(items: RunJson[]): string {
  if (items.length === 0) return 'no runs yet: start one with `macao-ocr enqueue` or `macao-ocr run`';
  const rows = items.map((r) => {
    const c = r.counts;
    return [
      r.run,
      r.state,
      r.priority,
      r.startedAt.replace('T', ' ').slice(0, 19),
      r.finishedAt ? r.finishedAt.replace('T', ' ').slice(0, 19) : '-',
      `${c.recognized}/${c.rejected}/${c.failed}/${c.skipped}/${c.pending}`,
      r.sources.join(' '),
    ];
  });
  const head = [
    'run',
    'state',
    'priority',
    'started (UTC)',
    'finished (UTC)',
    'rec/rej/fail/skip/pend',
    'sources',
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows]
    .map((r) => r.map((v, i) => (i === r.length - 1 ? v : v.padEnd(widths[i]!))).join('  '))
    .join('\n');
}
