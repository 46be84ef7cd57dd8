import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { generateSamples, type SampleObject } from '../../src/sandbox/specimen/index.js';
import { putObject } from '../../src/storage/s3.js';

/** A rendered specimen on disk: its object description (no body) and where its bytes are. */
export interface CachedSample extends Omit<SampleObject, 'body'> {
  file: string;
}

export interface SampleSetOptions {
  count: number;
  seed: number;
  backRatio?: number;
  faults?: boolean;
}

/** The renderer's sources: a change to any of them renders the cache afresh. */
function rendererVersion(): string {
  const h = createHash('sha256');
  const roots = [
    new URL('../../src/sandbox/specimen/', import.meta.url),
    new URL('../../src/sandbox/emulator/', import.meta.url),
  ];
  for (const root of roots) {
    for (const f of readdirSync(root)
      .filter((n) => n.endsWith('.ts'))
      .sort())
      h.update(readFileSync(new URL(f, root)));
  }
  return h.digest('hex').slice(0, 12);
}

/**
 * Renders a specimen dataset once per machine (rendering costs ~35 ms an object; the chaos runs
 * need 500 cards each) into a directory under tmpdir, reused by later test files and runs. Two
 * files rendering at once each write their own copy and rename it into place: the first wins.
 */
export async function sampleSet(opts: SampleSetOptions): Promise<CachedSample[]> {
  const backRatio = opts.backRatio ?? 0.2;
  const name = `macao-ocr-specimens-${rendererVersion()}-${opts.count}-${opts.seed}-${backRatio}-${opts.faults ? 'f' : 'n'}`;
  const dir = join(tmpdir(), name);
  const index = join(dir, 'index.json');
  if (!existsSync(index)) {
    const work = `${dir}.${process.pid}.tmp`;
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    const list: Omit<SampleObject, 'body'>[] = [];
    let i = 0;
    for await (const o of generateSamples({
      count: opts.count,
      seed: opts.seed,
      backRatio,
      faults: opts.faults ?? false,
    })) {
      const { body, ...rest } = o;
      writeFileSync(join(work, `${i++}.bin`), body);
      list.push(rest);
    }
    writeFileSync(join(work, 'index.json'), JSON.stringify(list));
    try {
      renameSync(work, dir);
    } catch {
      rmSync(work, { recursive: true, force: true }); // someone else finished first
    }
  }
  const list = JSON.parse(readFileSync(index, 'utf8')) as Omit<SampleObject, 'body'>[];
  return list.map((o, i) => ({ ...o, file: join(dir, `${i}.bin`) }));
}

/** Uploads a sample set under `prefix`, 16 objects at a time. */
export async function uploadSamples(
  s3: S3Client,
  bucket: string,
  prefix: string,
  samples: readonly CachedSample[],
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < samples.length) {
        const o = samples[next++]!;
        await putObject(s3, bucket, `${prefix}${o.key}`, readFileSync(o.file), o.contentType);
      }
    }),
  );
}

/** The good front images of a set: one per card. */
export const fronts = (samples: readonly CachedSample[]): CachedSample[] =>
  samples.filter((o) => o.kind === 'card' && o.side === 'front');
