import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { MacaoCardFields } from '../src/card/fields.js';
import { ruleFor } from '../src/ocr/errorActions.js';
import { isOcrError } from '../src/ocr/OcrError.js';
import { ManifestError } from '../src/producer/manifest.js';
import { truthToXmp } from '../src/sandbox/emulator/groundTruth.js';
import { paintTruthStrip } from '../src/sandbox/emulator/truthStrip.js';
import { putObject } from '../src/storage/s3.js';
import { FIELDS, specimenImage, truth } from './support/emulatorKit.js';
import { type Pipeline, startPipeline } from './support/pipeline.js';

/**
 * Hostile input: object keys, images, manifests and API parameters built to break things. Each
 * gets a specific outcome or error; nothing crashes, nothing is lost.
 */

/** A specimen-like image whose embedded truth carries `fields` (the emulator answers them). */
async function cardImage(
  n: number,
  fields: Partial<MacaoCardFields> = {},
  format: 'jpeg' | 'png' = 'jpeg',
): Promise<{ body: Buffer; fields: MacaoCardFields }> {
  const f = { ...FIELDS, ID: `${5000000 + n}(${n % 10})`, ...fields };
  return { body: await specimenImage(truth({ specimenId: `h-${n}`, fields: f }), { format }), fields: f };
}

/** A PNG whose header says 0 × 0 pixels (valid signature and CRCs). */
function zeroDimensionPng(): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td) >>> 0);
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 8, 2, 0, 0, 0]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A key of exactly `bytes` UTF-8 bytes (S3's maximum is 1,024), in path segments under 255 bytes. */
function longKey(prefix: string, bytes: number): string {
  let key = prefix;
  while (Buffer.byteLength(key) < bytes - 4 - 201) key += `${'k'.repeat(199)}/`;
  key += 'x'.repeat(bytes - 4 - Buffer.byteLength(key));
  return `${key}.jpg`;
}

describe('hostile input through the pipeline', () => {
  let p: Pipeline;

  beforeAll(async () => {
    p = await startPipeline({ redisUrl: inject('redisUrl'), databaseUrl: inject('databaseUrl') });
  });
  afterAll(async () => p?.close());

  it('odd keys, lying and broken images, huge and empty files: each a specific outcome', {
    timeout: 120_000,
  }, async () => {
    const keys = [
      'hostile/with space and  two spaces.jpg',
      'hostile/澳門 居民身份證 ñ é 🎴.jpg',
      'hostile/100%25%real%.jpg',
      'hostile/a+b+c.jpg',
      // Not `..` or `.` path segments, nor `//`: s3rver (the test's S3) normalizes or refuses them.
      'hostile/etc..passwd...jpg',
      'hostile/.hidden/-dash #hash ?query &amp;=.jpg',
      'hostile/quote\'"`$(x).jpg',
      longKey('hostile/long/', 1024),
    ];
    expect(Buffer.byteLength(keys.at(-1)!)).toBe(1024);
    const expected = new Map<string, { outcome: string; code: string | null; fields?: MacaoCardFields }>();
    let n = 0;
    for (const key of keys) {
      const c = await cardImage(++n);
      await putObject(p.s3, p.bucket, key, c.body, 'image/jpeg');
      expected.set(key, { outcome: 'recognized', code: null, fields: c.fields });
    }
    // Images that lie about their type: the worker reads the bytes, not the name or the header. A
    // PNG or JPEG under the other's name is sent; anything else is refused before any call.
    const png = await cardImage(++n, {}, 'png');
    await putObject(p.s3, p.bucket, 'hostile/lie-png-named.jpg', png.body, 'image/gif');
    expected.set('hostile/lie-png-named.jpg', { outcome: 'recognized', code: null, fields: png.fields });
    const jpeg = await cardImage(++n);
    await putObject(p.s3, p.bucket, 'hostile/lie-jpeg-named.png', jpeg.body, 'application/pdf');
    expected.set('hostile/lie-jpeg-named.png', { outcome: 'recognized', code: null, fields: jpeg.fields });
    const gif = await specimenImage(truth({ specimenId: 'h-gif' }), { format: 'gif' });
    await putObject(p.s3, p.bucket, 'hostile/lie-gif-named.jpg', gif, 'image/jpeg');
    expected.set('hostile/lie-gif-named.jpg', { outcome: 'rejected', code: 'Image.NotPngOrJpeg' });
    await putObject(
      p.s3,
      p.bucket,
      'hostile/lie-text.jpg',
      Buffer.from('%PDF-1.4 not an image\n'),
      'image/jpeg',
    );
    expected.set('hostile/lie-text.jpg', { outcome: 'rejected', code: 'Image.NotPngOrJpeg' });
    // Broken images.
    const whole = (await cardImage(++n)).body;
    await putObject(
      p.s3,
      p.bucket,
      'hostile/truncated.jpg',
      whole.subarray(0, Math.floor(whole.length / 2)),
      'image/jpeg',
    );
    expected.set('hostile/truncated.jpg', { outcome: 'rejected', code: 'FailedOperation.ImageDecodeFailed' });
    await putObject(p.s3, p.bucket, 'hostile/empty.jpg', Buffer.alloc(0), 'image/jpeg');
    expected.set('hostile/empty.jpg', { outcome: 'skipped', code: null });
    await putObject(p.s3, p.bucket, 'hostile/zero-dimension.png', zeroDimensionPng(), 'image/png');
    expected.set('hostile/zero-dimension.png', {
      outcome: 'rejected',
      code: 'FailedOperation.ImageDecodeFailed',
    });
    // 50 MB: an uncompressed PNG of noise carrying a specimen's truth. Too large to download
    // (7 MB): read and downscaled by the worker, then recognized. The downscaled copy has no XMP
    // (the worker copies no metadata): the emulator reads the truth strip painted into its pixels.
    const hugeFields = { ...FIELDS, ID: '7777777(7)' };
    const hugeTruth = truth({ specimenId: 'h-huge', fields: hugeFields, width: 4096, height: 4096 });
    const noise = await sharp({
      create: {
        width: 4096,
        height: 4096,
        channels: 3,
        background: '#000000',
        noise: { type: 'gaussian', mean: 128, sigma: 40 },
      },
    })
      .raw()
      .toBuffer();
    paintTruthStrip(noise, { width: 4096, height: 4096, channels: 3 }, hugeTruth);
    const huge = await sharp(noise, { raw: { width: 4096, height: 4096, channels: 3 } })
      .png({ compressionLevel: 0 })
      .withXmp(truthToXmp(hugeTruth))
      .toBuffer();
    expect(huge.length).toBeGreaterThan(50_000_000);
    await putObject(p.s3, p.bucket, 'hostile/huge.png', huge, 'image/png');
    expected.set('hostile/huge.png', { outcome: 'recognized', code: null, fields: hugeFields });

    const w = await p.startWorker({ imageMode: 'url' });
    const run = await p.enqueue('hostile/');
    await p.drained(90_000);
    await w.close();
    const { rows } = await p.store.pool.query(
      `SELECT front_key, outcome, reason, error_code, id_number, cn_last_name, en_last_name, en_first_name, pending
       FROM cards WHERE run_id = $1`,
      [run.runId],
    );
    const got = new Map(rows.map((r) => [r.front_key as string, r]));
    const summary: Record<string, string> = {};
    for (const [key, want] of expected) {
      const row = got.get(key);
      summary[key.length > 60 ? `${key.slice(0, 30)}…(${Buffer.byteLength(key)} bytes)` : key] = row
        ? `${row.outcome}${row.error_code ? ` ${row.error_code}` : ''}${row.reason ? ` ${row.reason}` : ''}`
        : 'LOST';
      expect.soft(row, key).toBeDefined();
      expect.soft(row?.pending, key).toBe(false);
      expect.soft(row?.outcome, key).toBe(want.outcome);
      if (want.code) expect.soft(row?.error_code, key).toBe(want.code);
      if (want.fields) {
        expect.soft(row?.id_number, key).toBe(want.fields.ID);
        expect.soft(row?.en_last_name, key).toBe(want.fields.EnLastName);
      }
    }
    console.error(
      `HOSTILE ${JSON.stringify({ objects: expected.size, rows: rows.length, calls: p.emulator.stats().byCode, outcomes: summary })}`,
    );
    expect(rows.length).toBe(expected.size);
    // The presigned URLs of the odd keys were downloadable: nothing fell back to inline for them.
    expect(p.emulator.stats().byCode['FailedOperation.DownLoadError']).toBeUndefined();
  });

  it('names with quotes and SQL-looking text round-trip exactly through the whole pipeline', {
    timeout: 60_000,
  }, async () => {
    const nasty: Partial<MacaoCardFields> = {
      CnLastName: `'"\\`,
      CnFirstName: "明'); DROP TABLE cards; --",
      EnLastName: `O'BRIEN"; DELETE FROM runs WHERE '1'='1`,
      EnFirstName: `ROBERT'); DROP TABLE api_calls;-- \\N $1 %s {{x}} <script>`,
      ResidentType: 'Permanent Resident Identity Card',
    };
    const c = await cardImage(900, nasty);
    await putObject(p.s3, p.bucket, 'nasty/card-900_front.jpg', c.body, 'image/jpeg');
    const w = await p.startWorker();
    const run = await p.enqueue('nasty/');
    await p.drained();
    await w.close();
    const { rows } = await p.store.pool.query(
      'SELECT outcome, cn_last_name, cn_first_name, en_last_name, en_first_name, raw_response FROM cards WHERE run_id = $1',
      [run.runId],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].outcome).toBe('recognized');
    expect(rows[0].cn_last_name).toBe(nasty.CnLastName);
    expect(rows[0].cn_first_name).toBe(nasty.CnFirstName);
    expect(rows[0].en_last_name).toBe(nasty.EnLastName);
    expect(rows[0].en_first_name).toBe(nasty.EnFirstName);
    expect(rows[0].raw_response).toEqual({ Angle: '0' });
    // The tables the names name are still there.
    const tables = await p.store.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM api_calls');
    expect(tables.rows[0]!.n).toBeGreaterThan(0);
  });

  it('a manifest with invalid UTF-8, blank and duplicate lines: refused whole, or its good lines once each', async () => {
    const good = await cardImage(950);
    await putObject(p.s3, p.bucket, 'manifest/card-950_front.jpg', good.body, 'image/jpeg');
    const good2 = await cardImage(951);
    await putObject(p.s3, p.bucket, 'manifest/card-951_front.jpg', good2.body, 'image/jpeg');
    const file = join(p.dataDir, 'hostile-manifest.txt');
    writeFileSync(
      file,
      Buffer.concat([
        Buffer.from(`s3://${p.bucket}/manifest/card-950_front.jpg\n\n   \n`),
        Buffer.from(`s3://${p.bucket}/manifest/card-950_front.jpg\r\n`),
        Buffer.from([0x73, 0x33, 0x3a, 0x2f, 0x2f, 0xff, 0xfe, 0x0a]), // s3://\xff\xfe
        Buffer.from(`# a comment\ns3://${p.bucket}/manifest/card-951_front.jpg\n`),
        Buffer.from(`s3://${p.bucket}/manifest/card-951_front.jpg`), // no final newline
      ]),
    );
    await expect(p.enqueue('unused/', { sources: [], manifest: file })).rejects.toThrow(ManifestError);
    const refused = await p.enqueue('unused/', { sources: [], manifest: file }).catch((e: unknown) => e);
    expect((refused as ManifestError).badLines).toEqual([{ line: 5, problem: 'not valid UTF-8' }]);
    expect(await p.queue.count()).toBe(0);
    const res = await p.enqueue('unused/', { sources: [], manifest: file, skipBadLines: true });
    expect(res.counts).toMatchObject({
      found: 2,
      cards: 2,
      enqueued: 2,
      skipped: { 'bad-manifest-line': 1 },
    });
    await p.queue.obliterate({ force: true });
  });

  it('fuzzed Config values get a parameter error (a pause of every worker, never a rejected card) or an answer', {
    timeout: 60_000,
  }, async () => {
    const image = (await cardImage(990)).body.toString('base64');
    const seen: Record<string, number> = {};
    const config = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.json({ maxDepth: 2 }),
      fc
        .dictionary(
          fc.constantFrom('RetImage', 'retimage', 'RetImage ', 'Other', '__proto__'),
          fc.jsonValue({ maxDepth: 1 }),
        )
        .map((o) => JSON.stringify(o)),
      fc.constantFrom('{"RetImage":"portrait"}', '{"RetImage":"preprocess"}', '{"RetImage":""}', '{}', ''),
    );
    await fc.assert(
      fc.asyncProperty(config, async (Config) => {
        try {
          const res = await p.client.recognizeWire({ ImageBase64: image, Config });
          seen.OK = (seen.OK ?? 0) + 1;
          expect(typeof res.RequestId).toBe('string');
        } catch (e) {
          expect(isOcrError(e)).toBe(true);
          const code = (e as { code: string }).code;
          seen[code] = (seen[code] ?? 0) + 1;
          expect(code).toMatch(/^InvalidParameter(Value)?\./);
          // Config is ours and the same for every card: its refusal stops the run, it rejects no card.
          expect(ruleFor(code).action).toBe('fatal');
        }
      }),
      { numRuns: 300 },
    );
    console.error(`CONFIG-FUZZ ${JSON.stringify(seen)}`);
    expect(seen.OK).toBeGreaterThan(0);
  });
});
