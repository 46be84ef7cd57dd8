import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { generateCard, renderCard } from '../src/sandbox/specimen/index.js';
import { putObject } from '../src/storage/s3.js';
import { ByteBudget } from '../src/worker/byteBudget.js';
import { downscaleToFit } from '../src/worker/downscale.js';
import { ImageRejection } from '../src/worker/preflight.js';
import { presentCard } from '../src/worker/presentImage.js';
import { outcomes, type Pipeline, startPipeline } from './support/pipeline.js';
import { spawnWorker, until } from './support/processes.js';

/**
 * The worker's pre-flight: each image's real format and pixel count are read from its first
 * bytes before it can cost a call. A decompression bomb is refused unpaid and never decoded; what
 * is re-encoded carries no metadata.
 */

const MB = 1024 * 1024;

/** `jpeg` with `n` APP15 segments of 64 KB ahead of everything else: its frame header moves that far in. */
function padJpeg(jpeg: Buffer, n: number): Buffer {
  const segment = Buffer.concat([Buffer.from([0xff, 0xef, 0xff, 0xff]), Buffer.alloc(65533, 0x20)]);
  return Buffer.concat([jpeg.subarray(0, 2), ...Array.from({ length: n }, () => segment), jpeg.subarray(2)]);
}

/** The card rows of a run, by front key. */
async function rowsOf(p: Pipeline, runId: string) {
  const { rows } = await p.store.pool.query<{
    front_key: string;
    outcome: string;
    error_code: string | null;
    error_message: string | null;
    api_calls: number;
  }>('SELECT front_key, outcome, error_code, error_message, api_calls FROM cards WHERE run_id = $1', [runId]);
  return new Map(rows.map((r) => [r.front_key, r]));
}

describe('pre-flight: images checked by their bytes before any call', () => {
  let p: Pipeline;
  /** 15,000 × 15,000 pixels of one colour: about 690 KB as a PNG, 675 MB decoded. */
  let bomb: Buffer;

  beforeAll(async () => {
    p = await startPipeline({ redisUrl: inject('redisUrl'), databaseUrl: inject('databaseUrl') });
    bomb = await sharp({ create: { width: 15000, height: 15000, channels: 3, background: '#f4f4f0' } })
      .png({ compressionLevel: 9 })
      .toBuffer();
  }, 120_000);
  afterAll(async () => p?.close());
  beforeEach(() => p.reset());

  it('rejects a decompression bomb with Image.TooManyPixels and no API call, in url and base64 mode', {
    timeout: 60_000,
  }, async () => {
    expect(bomb.length).toBeGreaterThan(100_000);
    expect(bomb.length).toBeLessThan(1_000_000);
    for (const imageMode of ['url', 'base64'] as const) {
      const key = `bomb-${imageMode}/customer-8812345_front.png`;
      await putObject(p.s3, p.bucket, key, bomb, 'image/png');
      const w = await p.startWorker({ imageMode });
      const run = await p.enqueue(`bomb-${imageMode}/`);
      await p.drained();
      await w.close();
      const row = (await rowsOf(p, run.runId!)).get(key);
      expect(row, imageMode).toMatchObject({
        outcome: 'rejected',
        error_code: 'Image.TooManyPixels',
        api_calls: 0,
      });
      // The message names the card by its version id and says why; never the object's key.
      expect(row?.error_message).toMatch(/front image of card cv1-[0-9a-f]{40} is 15000 × 15000 pixels/);
      expect(row?.error_message).not.toContain('customer-8812345');
    }
    expect(p.emulator.stats().received).toBe(0);
  });

  it('a `macao-ocr work` process that meets bombs inline keeps its peak memory under 512 MB', {
    timeout: 90_000,
  }, async () => {
    for (let i = 1; i <= 4; i++)
      await putObject(p.s3, p.bucket, `bomb-proc/card-00000${i}_front.png`, bomb, 'image/png');
    // Were one ever sent, the API would call it too large and the worker would decode it to
    // downscale it: 675 MB of pixels each.
    p.emulator.configure({ faults: { 'LimitExceeded.TooLargeFileError': 1 } });
    const run = await p.enqueue('bomb-proc/');
    const w = spawnWorker(p, ['--concurrency', '4'], { OCR_IMAGE_MODE: 'base64' });
    try {
      await until(
        async () => (await outcomes(p.store, run.runId!)).rejected === 4,
        60_000,
        'the four bombs rejected',
      );
      const status = readFileSync(`/proc/${w.child.pid}/status`, 'utf8');
      const peakKb = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]);
      console.error(
        `BOMB-RSS ${JSON.stringify({ peakMb: Math.round(peakKb / 1024), bombBytes: bomb.length })}`,
      );
      expect(peakKb).toBeGreaterThan(0);
      expect(peakKb * 1024).toBeLessThan(512 * MB);
    } finally {
      w.child.kill('SIGTERM');
    }
    expect(await w.exited).toBe(0);
    const rows = [...(await rowsOf(p, run.runId!)).values()];
    expect(rows.map((r) => [r.error_code, r.api_calls])).toEqual(Array(4).fill(['Image.TooManyPixels', 0]));
    expect(p.emulator.stats().received).toBe(0);
  });

  it('reads a JPEG’s size past 64 KB of metadata with further ranged reads (url mode), and refuses one past 1 MiB in both modes', {
    timeout: 60_000,
  }, async () => {
    // A specimen (1,000 × 630 = 630,000 pixels) with 128 KB of metadata segments before its frame header.
    const { front } = await renderCard(generateCard(77, 1), { back: false });
    await putObject(p.s3, p.bucket, 'deep-small/card-000001_front.jpg', padJpeg(front, 2), 'image/jpeg');
    await putObject(p.s3, p.bucket, 'deep-ok/card-000001_front.jpg', padJpeg(front, 2), 'image/jpeg');
    const deeper = padJpeg(front, 17);
    await putObject(p.s3, p.bucket, 'deeper-url/card-000001_front.jpg', deeper, 'image/jpeg');
    await putObject(p.s3, p.bucket, 'deeper-b64/card-000001_front.jpg', deeper, 'image/jpeg');

    const codeOf = async (prefix: string, opts: Parameters<Pipeline['startWorker']>[0]) => {
      const w = await p.startWorker(opts);
      const run = await p.enqueue(`${prefix}/`);
      await p.drained();
      await w.close();
      const [row] = (await rowsOf(p, run.runId!)).values();
      return `${row?.outcome} ${row?.error_code ?? ''} calls=${row?.api_calls}`;
    };
    expect(await codeOf('deep-small', { imageMode: 'url', maxPixels: 600_000 })).toBe(
      'rejected Image.TooManyPixels calls=0',
    );
    expect(await codeOf('deep-ok', { imageMode: 'url' })).toBe('recognized  calls=1');
    expect(await codeOf('deeper-url', { imageMode: 'url' })).toBe('rejected Image.NotPngOrJpeg calls=0');
    expect(await codeOf('deeper-b64', { imageMode: 'base64' })).toBe('rejected Image.NotPngOrJpeg calls=0');
    expect(p.emulator.stats().byCode).toEqual({ OK: 1 });
  });

  it('refuses what is not a PNG or a JPEG by its bytes, whatever its name, without a call', {
    timeout: 60_000,
  }, async () => {
    const photo = sharp({ create: { width: 320, height: 200, channels: 3, background: '#8fb4d8' } });
    const files: Record<string, Buffer> = {
      'webp-named_front.png': await photo.clone().webp().toBuffer(),
      'gif-named_front.jpg': await photo.clone().gif().toBuffer(),
      'tiff-named_front.jpg': await photo.clone().tiff().toBuffer(),
      'text-named_front.jpg': Buffer.from('%PDF-1.7 not an image at all\n'),
      'png-signature-only_front.png': Buffer.from([
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0,
      ]),
      'jpeg-soi-then-scan_front.jpg': Buffer.from([0xff, 0xd8, 0xff, 0xda, 0x00, 0x08, 1, 2, 3, 4, 5, 6]),
    };
    for (const imageMode of ['url', 'base64'] as const) {
      for (const [name, body] of Object.entries(files))
        await putObject(p.s3, p.bucket, `lies-${imageMode}/${name}`, body, 'image/jpeg');
      const w = await p.startWorker({ imageMode });
      const run = await p.enqueue(`lies-${imageMode}/`);
      await p.drained();
      await w.close();
      const got = Object.fromEntries(
        [...(await rowsOf(p, run.runId!)).values()].map((r) => [
          r.front_key.slice(r.front_key.indexOf('/') + 1),
          `${r.outcome} ${r.error_code} calls=${r.api_calls}`,
        ]),
      );
      expect(got, imageMode).toEqual(
        Object.fromEntries(Object.keys(files).map((n) => [n, 'rejected Image.NotPngOrJpeg calls=0'])),
      );
    }
    expect(p.emulator.stats().received).toBe(0);
  });

  it('holds the decoded pixels of an image it downscales under the byte budget, not only its file bytes', async () => {
    // 3,000 × 2,000 pixels: a small JPEG file, 24 MB decoded (4 bytes a pixel).
    const jpeg = await sharp({ create: { width: 3000, height: 2000, channels: 3, background: '#c0d0e0' } })
      .jpeg()
      .toBuffer();
    await putObject(p.s3, p.bucket, 'budget/card-000001_front.jpg', jpeg, 'image/jpeg');
    const budget = new ByteBudget(40 * MB);
    const elsewhere = await budget.acquire(30 * MB); // other cards' images
    const card = {
      versionId: 'cv1-budget',
      job: {
        runId: 'r-budget',
        bucket: p.bucket,
        frontKey: 'budget/card-000001_front.jpg',
        frontEtag: '',
        sizeBytes: jpeg.length,
      },
    };
    const ctx = { s3: p.s3, budget, presignTtlSec: 60, maxPixels: 50_000_000 };
    let presented: Awaited<ReturnType<typeof presentCard>> | undefined;
    const pending = presentCard(ctx, card, 'downscaled').then((x) => {
      presented = x;
    });
    // Its file bytes (6 × the file) fit beside the 30 MB held elsewhere; its 24 MB of pixels do not.
    await new Promise((r) => setTimeout(r, 500));
    expect(presented).toBeUndefined();
    expect(budget.inUse).toBe(30 * MB);
    elsewhere();
    await pending;
    expect(presented?.downscaled).toBe(true);
    // Once downscaled, the pixels' share is given back; the bytes' share stays until the call ends.
    expect(budget.inUse).toBe(6 * jpeg.length);
    presented?.release();
    expect(budget.inUse).toBe(0);
  });
});

describe('downscaleToFit', () => {
  it('writes no metadata: no EXIF (GPS), XMP or ICC profile from the input reaches the output', async () => {
    const input = await sharp({ create: { width: 3000, height: 2000, channels: 3, background: '#3366aa' } })
      .jpeg({ quality: 95 })
      .withExif({
        IFD0: { Make: 'PhoneCam', Model: 'X1', Copyright: 'uploader' },
        IFD3: {
          GPSLatitudeRef: 'N',
          GPSLatitude: '22/1 11/1 30/1',
          GPSLongitudeRef: 'E',
          GPSLongitude: '113/1 32/1 40/1',
        },
      })
      .withXmp(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>uploader</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>',
      )
      .withIccProfile('p3')
      .toBuffer();
    const inMeta = await sharp(input).metadata();
    expect(inMeta.exif?.includes(Buffer.from('PhoneCam'))).toBe(true);
    expect(inMeta.xmp).toBeDefined();
    expect(inMeta.icc).toBeDefined();

    const out = await downscaleToFit(input, 20_000);
    const meta = await sharp(out).metadata();
    expect(meta.format).toBe('jpeg');
    expect(meta.width).toBeLessThan(3000);
    expect(meta.exif).toBeUndefined();
    expect(meta.xmp).toBeUndefined();
    expect(meta.icc).toBeUndefined();
    expect(meta.iptc).toBeUndefined();
    expect(out.includes(Buffer.from('PhoneCam'))).toBe(false);
    expect(out.includes(Buffer.from('uploader'))).toBe(false);
  });

  it('turns the pixels as the EXIF orientation says before dropping it: the card stays upright', async () => {
    const input = await sharp({ create: { width: 600, height: 400, channels: 3, background: '#ffffff' } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const meta = await sharp(await downscaleToFit(input, 6 * MB)).metadata();
    expect([meta.width, meta.height, meta.orientation]).toEqual([400, 600, undefined]);
  });

  it('never decodes an image over maxPixels', async () => {
    const bomb = await sharp({ create: { width: 9000, height: 9000, channels: 3, background: '#000000' } })
      .png({ compressionLevel: 9 })
      .toBuffer();
    const err = await downscaleToFit(bomb, 150_000, { maxPixels: 50_000_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageRejection);
    expect((err as ImageRejection).code).toBe('Image.TooManyPixels');
  });
});
