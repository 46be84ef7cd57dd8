import type { Command } from 'commander';
import { intOption } from './options.js';
import { loadSandbox } from './sandbox.js';

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
      const { demoCommand } = await loadSandbox('demo');
      process.exitCode = await demoCommand({ count, qps, keep: o.keep ?? false }, (text) =>
        console.log(text),
      );
    });
}
