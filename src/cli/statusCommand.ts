import type { Command } from 'commander';
import { resolveRun, withQueueServices } from './common.js';

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('where a run stands: queue states, outcomes, effective rate, ETA, pause reason')
    .argument('[RUN]', 'run id (default: the newest run)')
    .option('--json', 'machine-readable output (stable shape)')
    .option('--watch', 'redraw every 2 s until interrupted')
    .option(
      '--check',
      'exit code for scripts: 0 healthy or done, 1 paused, 3 failed cards, 4 cards pending with nothing queued',
    )
    .action(async (run: string | undefined, o: { json?: boolean; watch?: boolean; check?: boolean }) => {
      const { formatStatus, HEALTH_EXIT, loadStatus } = await import('../runStatus.js');
      await withQueueServices(async (s) => {
        const runId = await resolveRun(s.store, run);
        for (;;) {
          const st = await loadStatus(s, runId);
          if (o.json) console.log(JSON.stringify(st));
          else if (o.watch && process.stdout.isTTY)
            process.stdout.write(`\u001b[2J\u001b[H${formatStatus(st)}\n`);
          else console.log(formatStatus(st));
          if (!o.watch) {
            if (o.check) process.exitCode = HEALTH_EXIT[st.health];
            return;
          }
          await new Promise((r) => setTimeout(r, 2000));
        }
      });
    });
}
