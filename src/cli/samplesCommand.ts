import type { Command } from 'commander';
import { intOption } from './options.js';
import { loadSandbox } from './sandbox.js';
import { UsageError } from './usageError.js';

export function registerSamplesCommand(program: Command): void {
  program
    .command('samples')
    .description(
      'render specimen Macao ID cards (with their ground truth embedded) into a folder or a bucket',
    )
    .requiredOption('--out <DIR|s3://bucket/prefix>', 'where to write the images')
    .option('--count <N>', 'good cards to render', '50')
    .option('--seed <N>', 'dataset seed: the same seed gives the same cards', '1')
    .option(
      '--faults',
      'add the bad inputs a real bucket holds (GIF, truncated, empty, oversize, not a card, text named .jpg)',
    )
    .option('--back-ratio <0..1>', 'share of cards that get a back image', '0.5')
    .option('--format <jpeg|png>', 'image format of the cards', 'jpeg')
    .action(
      async (o: {
        out: string;
        count: string;
        seed: string;
        faults?: boolean;
        backRatio: string;
        format: string;
      }) => {
        const count = intOption('--count', o.count, 1);
        const seed = intOption('--seed', o.seed, 0);
        const backRatio = Number(o.backRatio);
        if (!(backRatio >= 0 && backRatio <= 1))
          throw new UsageError(`--back-ratio must be between 0 and 1, got \`${o.backRatio}\``);
        if (o.format !== 'jpeg' && o.format !== 'png')
          throw new UsageError(`--format must be jpeg or png, got \`${o.format}\``);
        const { samplesCommand } = await loadSandbox('samples');
        await samplesCommand(
          {
            out: o.out,
            count,
            seed,
            faults: o.faults ?? false,
            backRatio,
            format: o.format,
          },
          (text) => console.log(text),
        );
      },
    );
}
