import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type EmulatorHandle, startEmulator } from '../src/sandbox/emulator/emulatorServer.js';
import { DecodeCache, decodeImage } from '../src/sandbox/emulator/recognize.js';
import {
  codeOf,
  FIELDS,
  imageServer,
  SECRET_ID,
  SECRET_KEY,
  signedCall,
  specimenImage,
  truth,
} from './support/emulatorKit.js';

/** Parameter checks, image decoding and downloads, each with the code the service answers. */

let emulator: EmulatorHandle;
let front: Buffer;
let back: Buffer;
let images: Awaited<ReturnType<typeof imageServer>>;
const b64 = (b: Buffer) => b.toString('base64');

beforeAll(async () => {
  emulator = await startEmulator({ credentials: [{ secretId: SECRET_ID, secretKey: SECRET_KEY }] });
  front = await specimenImage(truth());
  back = await specimenImage(truth({ side: 'back' }));
  const big = Buffer.alloc(7 * 1024 * 1024 + 1, 0xab);
  images = await imageServer({
    '/front.jpg': { body: front },
    '/back.jpg': { body: back },
    '/missing.jpg': { status: 404, body: Buffer.from('no') },
    '/error.jpg': { status: 500, body: Buffer.from('oops') },
    '/slow.jpg': { body: front, delayMs: 1500 },
    '/empty.jpg': { body: Buffer.alloc(0) },
    '/big-declared.jpg': { body: big },
    '/big-streamed.jpg': { body: big, chunked: 256 * 1024 },
  });
});
afterAll(async () => {
  await images.close();
  await emulator.close();
});
afterEach(() => emulator.configure({ downloadTimeoutMs: 3000 }));

async function expectCode(body: unknown, code: string): Promise<void> {
  const res = await signedCall(emulator.url, body);
  expect(res.status).toBe(200);
  expect(codeOf(res), JSON.stringify(res.json).slice(0, 300)).toBe(code);
  expect(res.json.Response.RequestId).toMatch(/^[0-9a-f-]{36}$/);
  if (code !== 'OK') expect(res.json.Response.Error?.Message).toBeTruthy();
}

describe('parameters', () => {
  it.each([
    ['body not JSON', 'not json', 'InvalidParameter'],
    ['body a JSON array', '[1]', 'InvalidParameter'],
    ['body JSON null', 'null', 'InvalidParameter'],
    ['no image at all', {}, 'MissingParameter'],
    ['an empty ImageUrl only', { ImageUrl: '' }, 'MissingParameter'],
    ['an empty ImageBase64 (an empty file)', { ImageBase64: '' }, 'FailedOperation.EmptyImageError'],
    ['a back without a front', { BackImageBase64: 'AAAA' }, 'MissingParameter'],
    ['an unknown parameter', { ImageBase64: 'AAAA', Foo: 1 }, 'UnknownParameter'],
    [
      'a common parameter in the body',
      { ImageBase64: 'AAAA', Action: 'RecognizeMacaoIDCardOCR' },
      'UnknownParameter',
    ],
    ['ImageUrl not a string', { ImageUrl: 5 }, 'InvalidParameter'],
    ['Config not a string', { ImageBase64: 'AAAA', Config: { RetImage: '' } }, 'InvalidParameter'],
    [
      'Config not JSON',
      { ImageBase64: 'AAAA', Config: '{RetImage:portrait}' },
      'InvalidParameter.ConfigFormatError',
    ],
    [
      'Config JSON but no object',
      { ImageBase64: 'AAAA', Config: '"portrait"' },
      'InvalidParameter.ConfigFormatError',
    ],
    [
      'Config.RetImage unknown',
      { ImageBase64: 'AAAA', Config: '{"RetImage":"face"}' },
      'InvalidParameterValue.InvalidParameterValueLimit',
    ],
    [
      'Config with an unknown key',
      { ImageBase64: 'AAAA', Config: '{"CropPortrait":true}' },
      'InvalidParameterValue.InvalidParameterValueLimit',
    ],
    ['ImageUrl not a URL', { ImageUrl: 'front.jpg' }, 'InvalidParameterValue.InvalidParameterValueLimit'],
    [
      'ImageUrl not http(s)',
      { ImageUrl: 'ftp://127.0.0.1/a.jpg' },
      'InvalidParameterValue.InvalidParameterValueLimit',
    ],
    ['ImageBase64 not Base64', { ImageBase64: 'this is not base64!' }, 'FailedOperation.ImageDecodeFailed'],
    [
      'ImageBase64 over 7 MB',
      { ImageBase64: 'A'.repeat(7 * 1024 * 1024 + 4) },
      'LimitExceeded.TooLargeFileError',
    ],
  ])('%s', async (_name, body, code) => {
    await expectCode(body, code);
  });
});

describe('images', () => {
  const truncated = () => front.subarray(0, Math.floor(front.length * 0.6));
  it.each([
    [
      'bytes that are no image',
      async () => Buffer.from('just some text, named .jpg'),
      'FailedOperation.ImageDecodeFailed',
    ],
    [
      'a GIF (the API page excludes it)',
      async () => specimenImage(truth(), { format: 'gif' }),
      'FailedOperation.ImageDecodeFailed',
    ],
    ['a WebP', async () => sharp(front).webp().toBuffer(), 'FailedOperation.ImageDecodeFailed'],
    ['a truncated JPEG', async () => truncated(), 'FailedOperation.ImageDecodeFailed'],
    ['a photo that is no card', async () => specimenImage(undefined), 'FailedOperation.ImageNoSpecifiedCard'],
    ['a card back given as the front', async () => back, 'FailedOperation.ImageNoSpecifiedCard'],
    ['a PNG specimen', async () => specimenImage(truth(), { format: 'png' }), 'OK'],
  ])('%s', async (_name, make, code) => {
    await expectCode({ ImageBase64: b64(await make()) }, code);
  });

  it('refuses a truncated JPEG or PNG every time, even among many decodes at once', async () => {
    // sharp/libvips loses a truncated JPEG's error now and then when many decodes run at once;
    // the emulator checks the end marker as well.
    const png = await specimenImage(truth(), { format: 'png' });
    const cutPng = png.subarray(0, png.length - 20);
    let truncatedAccepted = 0;
    let goodRefused = 0;
    for (let round = 0; round < 10; round++) {
      await Promise.all([
        ...Array.from({ length: 30 }, () =>
          decodeImage(Buffer.from(front), 'front').catch(() => {
            goodRefused++;
          }),
        ),
        ...[truncated(), cutPng].flatMap((b) =>
          Array.from({ length: 4 }, () =>
            decodeImage(Buffer.from(b), 'front').then(
              () => {
                truncatedAccepted++;
              },
              (e: unknown) => expect((e as { code: string }).code).toBe('FailedOperation.ImageDecodeFailed'),
            ),
          ),
        ),
      ]);
    }
    expect({ truncatedAccepted, goodRefused }).toEqual({ truncatedAccepted: 0, goodRefused: 0 });
  });

  it('answers bytes it decoded before from their digest, never other bytes, and holds a bounded number', async () => {
    const cache = new DecodeCache(2);
    const first = await cache.decode(Buffer.from(front), 'front');
    const copy = Buffer.from(front);
    const again = await cache.decode(copy, 'front');
    expect(again.bytes).toBe(copy);
    expect({ ...again, bytes: null }).toEqual({ ...first, bytes: null });
    expect(again.truth?.fields.ID).toBe(truth().fields.ID);
    // A truncated copy is other bytes: decoded, and refused, each time (refusals are not kept).
    for (let i = 0; i < 2; i++) {
      await expect(cache.decode(truncated(), 'front')).rejects.toMatchObject({
        code: 'FailedOperation.ImageDecodeFailed',
      });
    }
    expect(cache.size).toBe(1);
    await cache.decode(back, 'back');
    await cache.decode(await specimenImage(truth(), { format: 'png' }), 'front');
    expect(cache.size).toBe(2);
  });

  it('a back image is checked like the front', async () => {
    await expectCode({ ImageBase64: b64(front), BackImageBase64: b64(back) }, 'OK');
    await expectCode({ ImageBase64: b64(front), BackImageBase64: '' }, 'FailedOperation.EmptyImageError');
    await expectCode(
      { ImageBase64: b64(front), BackImageBase64: b64(front) },
      'FailedOperation.ImageNoSpecifiedCard',
    );
    const gif = await specimenImage(truth({ side: 'back' }), { format: 'gif' });
    await expectCode(
      { ImageBase64: b64(front), BackImageBase64: b64(gif) },
      'FailedOperation.ImageDecodeFailed',
    );
    await expectCode(
      { ImageBase64: b64(front), BackImageUrl: images.url('/missing.jpg') },
      'FailedOperation.DownLoadError',
    );
  });

  it('returns every ground-truth field, the warnings, and a RequestId unique per call', async () => {
    const a = await signedCall(emulator.url, { ImageBase64: b64(front) });
    const b = await signedCall(emulator.url, { ImageBase64: b64(front) });
    const { RequestId, ...rest } = a.json.Response;
    expect(rest).toEqual({ Angle: '0', ...FIELDS, RetImage: '', WarnCardInfos: [-9108] });
    expect(RequestId).not.toBe(b.json.Response.RequestId);
  });

  it('RetImage portrait is a JPEG crop of the portrait box, scaled to the actual image', async () => {
    // Rendered at 640x400, delivered at twice the size: the box scales with it.
    const doubled = await specimenImage(truth(), { width: 1280, height: 800 });
    const res = await signedCall(emulator.url, {
      ImageBase64: b64(doubled),
      Config: '{"RetImage":"portrait"}',
    });
    expect(codeOf(res)).toBe('OK');
    const meta = await sharp(Buffer.from(String(res.json.Response.RetImage), 'base64')).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 240, 300]);
  });

  it('RetImage preprocess, asked in the API page’s example, answers no image, as that example does', async () => {
    const png = await specimenImage(truth(), { format: 'png' });
    const res = await signedCall(emulator.url, {
      ImageBase64: b64(png),
      Config: '{"RetImage":"preprocess"}',
    });
    expect(codeOf(res)).toBe('OK');
    expect(res.json.Response.RetImage).toBe('');
  });
});

describe('downloads', () => {
  it('downloads ImageUrl and BackImageUrl; the URL wins over Base64 given beside it', async () => {
    await expectCode({ ImageUrl: images.url('/front.jpg'), BackImageUrl: images.url('/back.jpg') }, 'OK');
    await expectCode({ ImageUrl: images.url('/front.jpg'), ImageBase64: 'not base64 at all' }, 'OK');
  });

  it.each([
    ['a 404', '/missing.jpg', 'FailedOperation.DownLoadError'],
    ['a 500', '/error.jpg', 'FailedOperation.DownLoadError'],
    ['an empty body', '/empty.jpg', 'FailedOperation.EmptyImageError'],
    ['over 7 MB, declared', '/big-declared.jpg', 'LimitExceeded.TooLargeFileError'],
    ['over 7 MB, streamed without a length', '/big-streamed.jpg', 'LimitExceeded.TooLargeFileError'],
  ])('%s', async (_name, path, code) => {
    await expectCode({ ImageUrl: images.url(path) }, code);
  });

  it('the back’s download is held to 7 MB after Base64, the front’s to 7 MB of bytes, as the page words them', async () => {
    // A limit just over the front's bytes: the same bytes as a back pass three quarters of it.
    emulator.configure({ maxImageBytes: front.length + 16 });
    try {
      await expectCode({ ImageUrl: images.url('/front.jpg') }, 'OK');
      await expectCode(
        { ImageUrl: images.url('/front.jpg'), BackImageUrl: images.url('/front.jpg') },
        'LimitExceeded.TooLargeFileError',
      );
      emulator.configure({ maxImageBytes: Math.ceil((back.length * 4) / 3) + 16 });
      await expectCode(
        { ImageUrl: images.url('/back.jpg'), BackImageUrl: images.url('/back.jpg') },
        'FailedOperation.ImageNoSpecifiedCard',
      );
    } finally {
      emulator.configure({ maxImageBytes: 7 * 1024 * 1024 });
    }
  });

  it('a refused connection is DownLoadError', async () => {
    await expectCode({ ImageUrl: 'http://127.0.0.1:1/front.jpg' }, 'FailedOperation.DownLoadError');
  });

  it('a download slower than downloadTimeoutMs is DownLoadError, and takes no longer than the limit', async () => {
    emulator.configure({ downloadTimeoutMs: 300 });
    const t0 = performance.now();
    await expectCode({ ImageUrl: images.url('/slow.jpg') }, 'FailedOperation.DownLoadError');
    const ms = performance.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(290);
    expect(ms).toBeLessThan(1200);
  });
});
