import { parseConfig } from '../config.js';
import { parseS3Uri } from '../storage/s3Uri.js';
import { dirSink, type SampleSink, writeSamples } from './specimen/index.js';

/** The flags of `macao-ocr samples`, already checked. */
export interface SamplesCommandOptions {
  out: string;
  count: number;
  seed: number;
  faults: boolean;
  backRatio: number;
  format: 'jpeg' | 'png';
}

/** `macao-ocr samples`: renders specimen cards into a folder or a bucket and says what it wrote through `print`. */
export async function samplesCommand(o: SamplesCommandOptions, print: (text: string) => void): Promise<void> {
  let sink: SampleSink;
  let close = (): void => undefined;
  if (o.out.startsWith('s3://')) {
    const { bucket, prefix } = parseS3Uri(o.out);
    const { createS3Client, putObject } = await import('../storage/s3.js');
    const s3 = createS3Client(parseConfig().s3);
    sink = async (obj) => {
      await putObject(s3, bucket, `${prefix}${obj.key}`, obj.body, obj.contentType);
    };
    close = () => s3.destroy();
  } else sink = dirSink(o.out);
  try {
    const summary = await writeSamples({
      count: o.count,
      seed: o.seed,
      faults: o.faults,
      backRatio: o.backRatio,
      format: o.format,
      sink,
    });
    const faults = Object.entries(summary.counts)
      .filter(([k, n]) => k !== 'card' && n > 0)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    print(
      `wrote ${summary.cards} cards (${summary.cardsWithBack} with a back)${faults ? ` and faults: ${faults}` : ''} to ${o.out} ` +
        `(${(summary.bytes / 1e6).toFixed(1)} MB, ${(summary.elapsedMs / 1000).toFixed(1)} s)`,
    );
  } finally {
    close();
  }
}
