import type { S3Client } from '@aws-sdk/client-s3';
import { API_LIMITS } from '../ocr/limits.js';
import type { ImageSource, RecognizeRequest } from '../ocr/types.js';
import type { CardJobData } from '../queue.js';
import sharp, { type Metadata } from '../sharp.js';
import { presignGet, readObject } from '../storage/objects.js';
import type { ByteBudget } from './byteBudget.js';

/**
 * How the image reaches the API. `url`: a short-lived presigned GET URL the provider downloads
 * (no bytes through this process). `base64`: read here and sent inline, downscaled when its
 * Base64 would exceed the API's 7 MB. `downscaled`: inline and always downscaled (after the API
 * said the image was too large).
 */
export type PresentMode = 'url' | 'base64' | 'downscaled';

/** The API's limit on an image after Base64. */
export const MAX_BASE64_BYTES = API_LIMITS.maxImageBytes;
/** What we aim below when downscaling, leaving room for the rest of the 10 MB body. */
const TARGET_BASE64_BYTES = 6 * 1024 * 1024;
/**
 * What the two images' Base64 together stay under: the API's body limit less room for the JSON
 * around them. Two sides each under the image limit can still pass the body's limit.
 */
const BOTH_SIDES_BASE64_BYTES = API_LIMITS.maxBodyBytes - 512 * 1024;
/** Objects larger than this are not read at all (a mislabelled video, a disk image). */
export const MAX_OBJECT_BYTES = 64 * 1024 * 1024;

export interface PresentContext {
  s3: S3Client;
  /** Signs the URLs the provider downloads; default {@link s3}. A different endpoint when the provider reaches the bucket by a public name. */
  presignS3?: S3Client | undefined;
  budget: ByteBudget;
  /** Lifetime of presigned URLs in seconds; the API downloads within 3 s, so minutes are plenty. */
  presignTtlSec: number;
  signal?: AbortSignal;
}

export interface PresentedCard {
  request: RecognizeRequest;
  /** Gives the image bytes' share of the budget back; call when the call is over. */
  release: () => void;
  /** Whether any side was downscaled. */
  downscaled: boolean;
}

const base64Length = (n: number): number => Math.ceil(n / 3) * 4;

/**
 * Shrinks an image until its Base64 fits under the target, keeping its metadata (the XMP packet
 * included: a specimen's ground truth must survive, and a real scan's orientation too).
 * Bytes sharp cannot decode are returned as they are: the API will say what is wrong with them.
 */
export async function downscaleToFit(image: Buffer, targetBase64 = TARGET_BASE64_BYTES): Promise<Buffer> {
  let meta: Metadata;
  try {
    meta = await sharp(image).metadata();
  } catch {
    return image;
  }
  const width = meta.autoOrient?.width ?? meta.width;
  const height = meta.autoOrient?.height ?? meta.height;
  if (!width || !height) return image;
  let out = image;
  let scale = Math.min(1, Math.sqrt(targetBase64 / base64Length(image.length)) * 0.95);
  for (let i = 0; i < 4 && (base64Length(out.length) > targetBase64 || i === 0); i++) {
    out = await sharp(image)
      .rotate()
      .resize({
        width: Math.max(64, Math.round(width * scale)),
        height: Math.max(64, Math.round(height * scale)),
        fit: 'inside',
      })
      .jpeg({ quality: 88, mozjpeg: false })
      .keepMetadata()
      .toBuffer();
    scale *= 0.75;
  }
  return out;
}

async function readSide(ctx: PresentContext, bucket: string, key: string): Promise<Buffer> {
  return readObject(ctx.s3, bucket, key, {
    maxBytes: MAX_OBJECT_BYTES,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
}

/**
 * Each side shrunk where it must be: over the API's 7 MB, or (with a back) over half of what the
 * body allows both when together they pass it; every side when `force` (the API said too large).
 * A side that is shrunk aims at the room the others leave (at most 6 MB): a large front beside a
 * small back keeps more of its detail than half the body.
 */
async function fitSides(sides: Buffer[], force: boolean): Promise<{ sides: Buffer[]; downscaled: boolean }> {
  const sizes = sides.map((b) => base64Length(b.length));
  const total = sizes.reduce((n, x) => n + x, 0);
  const half = BOTH_SIDES_BASE64_BYTES / sides.length;
  const shrink = sizes.map(
    (size) => force || size > MAX_BASE64_BYTES || (total > BOTH_SIDES_BASE64_BYTES && size > half),
  );
  const kept = sizes.reduce((n, size, i) => n + (shrink[i] ? 0 : size), 0);
  const shrinking = shrink.filter(Boolean).length;
  const target = Math.min(TARGET_BASE64_BYTES, (BOTH_SIDES_BASE64_BYTES - kept) / Math.max(1, shrinking));
  let downscaled = false;
  const out: Buffer[] = [];
  for (const [i, bytes] of sides.entries()) {
    const fitted = shrink[i] ? await downscaleToFit(bytes, target) : bytes;
    downscaled ||= fitted !== bytes;
    out.push(fitted);
  }
  return { sides: out, downscaled };
}

/**
 * Builds the request for one card in the given mode. In the inline modes the image bytes are
 * held under the byte budget: six times the object's size, as measured (bench/worker): the bytes,
 * their Base64, the JSON body, the SDK's serialisation of it and the request buffers.
 */
export async function presentCard(
  ctx: PresentContext,
  job: CardJobData,
  mode: PresentMode,
): Promise<PresentedCard> {
  if (mode === 'url') {
    const signer = ctx.presignS3 ?? ctx.s3;
    const front = await presignGet(signer, job.bucket, job.frontKey, ctx.presignTtlSec);
    const back = job.backKey
      ? await presignGet(signer, job.bucket, job.backKey, ctx.presignTtlSec)
      : undefined;
    return {
      request: { front: { url: front }, ...(back ? { back: { url: back } } : {}) },
      release: () => undefined,
      downscaled: false,
    };
  }
  const estimate = 6 * (job.sizeBytes ?? 1024 * 1024);
  const release = await ctx.budget.acquire(estimate);
  try {
    const read = [await readSide(ctx, job.bucket, job.frontKey)];
    if (job.backKey) read.push(await readSide(ctx, job.bucket, job.backKey));
    const { sides, downscaled } = await fitSides(read, mode === 'downscaled');
    const [front, back] = sides.map((b): ImageSource => ({ base64: b.toString('base64') }));
    return {
      request: { front: front!, ...(back ? { back } : {}) },
      release,
      downscaled,
    };
  } catch (e) {
    release();
    throw e;
  }
}
