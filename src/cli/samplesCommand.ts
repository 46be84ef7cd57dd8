import type { Command } from 'commander';
import { parseConfig } from '../config.js';
import { dirSink, type SampleSink, writeSamples } from '../emulator/specimen/index.js';
import { createS3Client, parseS3Uri, putObject } from '../storage/s3.js';
import { intOption } from './options.js';
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
        let sink: SampleSink;
        let close = (): void => undefined;
        if (o.out.startsWith('s3://')) {
          const { bucket, prefix } = parseS3Uri(o.out);
          const config = parseConfig();
          const s3 = createS3Client(config.s3);
          sink = async (obj) => {
            await putObject(s3, bucket, `${prefix}${obj.key}`, obj.body, obj.contentType);
          };
          close = () => s3.destroy();
        } else sink = dirSink(o.out);
        try {
          const summary = await writeSamples({
            count,
            seed,
            faults: o.faults ?? false,
            backRatio,
            format: o.format,
            sink,
          });
          const faults = Object.entries(summary.counts)
            .filter(([k, n]) => k !== 'card' && n > 0)
            .map(([k, n]) => `${k} ${n}`)
            .join(', ');
          console.log(
            `wrote ${summary.cards} cards (${summary.cardsWithBack} with a back)${faults ? ` and faults: ${faults}` : ''} to ${o.out} ` +
              `(${(summary.bytes / 1e6).toFixed(1)} MB, ${(summary.elapsedMs / 1000).toFixed(1)} s)`,
          );
        } finally {
          close();
        }
      },
    );
}
