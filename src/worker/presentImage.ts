import type { S3Client } from '@aws-sdk/client-s3';
import { API_LIMITS } from '../ocr/limits.js';
import type { ImageSource, RecognizeRequest } from '../ocr/types.js';
import type { CardJobData } from '../queue.js';
import { presignGet, readObject } from '../storage/objects.js';
import type { ByteBudget } from './byteBudget.js';
import { base64Length, downscaleToFit, MAX_BASE64_BYTES, TARGET_BASE64_BYTES } from './downscale.js';
import type { ImageHeader } from './imageHeader.js';
import { checkImageBytes, checkStoredImage, type StoredImage } from './preflight.js';

/**
 * How the image reaches the API. `url`: a short-lived presigned GET URL the provider downloads
 * (no image through this process but its first bytes, for the pre-flight). `base64`: read here
 * and sent inline, downscaled when its Base64 would exceed the API's 7 MB. `downscaled`: inline
 * and always downscaled (after the API said the image was too large).
 */
export type PresentMode = 'url' | 'base64' | 'downscaled';

/**
 * What the two images' Base64 together stay under: the API's body limit less room for the JSON
 * around them. Two sides each under the image limit can still pass the body's limit.
 */
const BOTH_SIDES_BASE64_BYTES = API_LIMITS.maxBodyBytes - 512 * 1024;
/** Objects larger than this are not read at all (a mislabelled video, a disk image). */
const MAX_OBJECT_BYTES = 64 * 1024 * 1024;
/** Bytes a decoded pixel takes while an image is downscaled (RGBA). */
const BYTES_PER_DECODED_PIXEL = 4;

export interface PresentContext {
  s3: S3Client;
  /** Signs the URLs the provider downloads; default {@link s3}. A different endpoint when the provider reaches the bucket by a public name. */
  presignS3?: S3Client | undefined;
  budget: ByteBudget;
  /** Lifetime of presigned URLs in seconds; the API downloads within 3 s, so minutes are plenty. */
  presignTtlSec: number;
  /** Most pixels (width × height) an image may have: more is `Image.TooManyPixels`, and no decode here goes past it. */
  maxPixels: number;
  signal?: AbortSignal;
}

/** The card to present: its version id (what messages call it) and its job. */
export interface CardToPresent {
  versionId: string;
  job: CardJobData;
}

export interface PresentedCard {
  request: RecognizeRequest;
  /** Gives the image bytes' share of the budget back; call when the call is over. */
  release: () => void;
  /** Whether any side was downscaled. */
  downscaled: boolean;
}

/** The card's sides, each named by the card's version id: keys may carry customer numbers. */
function sidesOf(card: CardToPresent): (StoredImage & { side: 'front' | 'back' })[] {
  const { job, versionId } = card;
  const side = (s: 'front' | 'back', key: string) => ({
    side: s,
    bucket: job.bucket,
    key,
    name: `the ${s} image of card ${versionId}`,
  });
  return [side('front', job.frontKey), ...(job.backKey ? [side('back', job.backKey)] : [])];
}

/**
 * Which sides to shrink, and to what Base64 size: a side over the API's 7 MB, or (with a back)
 * over half of what the body allows both when together they pass it; every side when `force`
 * (the API said too large). A side that is shrunk aims at the room the others leave (at most
 * 6 MB): a large front beside a small back keeps more of its detail than half the body.
 */
function planFit(lengths: number[], force: boolean): { shrink: boolean[]; target: number } {
  const sizes = lengths.map(base64Length);
  const total = sizes.reduce((n, x) => n + x, 0);
  const half = BOTH_SIDES_BASE64_BYTES / sizes.length;
  const shrink = sizes.map(
    (size) => force || size > MAX_BASE64_BYTES || (total > BOTH_SIDES_BASE64_BYTES && size > half),
  );
  const kept = sizes.reduce((n, size, i) => n + (shrink[i] ? 0 : size), 0);
  const shrinking = shrink.filter(Boolean).length;
  const target = Math.min(TARGET_BASE64_BYTES, (BOTH_SIDES_BASE64_BYTES - kept) / Math.max(1, shrinking));
  return { shrink, target };
}

/**
 * `url` mode's pre-flight: each side's header from its first bytes (a ranged GET), both sides
 * read at once; the front's fault is the one thrown when both have one. Inline modes check the
 * bytes they read instead, in {@link presentCard}.
 */
export async function checkStoredCard(ctx: PresentContext, card: CardToPresent): Promise<void> {
  const checks = await Promise.allSettled(
    sidesOf(card).map((s) => checkStoredImage(ctx.s3, s, ctx.maxPixels, ctx.signal)),
  );
  for (const c of checks) if (c.status === 'rejected') throw c.reason;
}

/** `url` mode: each side presigned (its header was checked by {@link checkStoredCard}). */
async function presentUrls(ctx: PresentContext, card: CardToPresent): Promise<PresentedCard> {
  const sides = sidesOf(card);
  const signer = ctx.presignS3 ?? ctx.s3;
  const [front, back] = await Promise.all(
    sides.map((s) => presignGet(signer, s.bucket, s.key, ctx.presignTtlSec)),
  );
  return {
    request: { front: { url: front! }, ...(back ? { back: { url: back } } : {}) },
    release: () => undefined,
    downscaled: false,
  };
}

/** Reads both sides' bytes and checks each is an image it may decode (the pre-flight). */
async function readSides(
  ctx: PresentContext,
  card: CardToPresent,
): Promise<{ bytes: Buffer; header: ImageHeader }[]> {
  const read: { bytes: Buffer; header: ImageHeader }[] = [];
  for (const s of sidesOf(card)) {
    const bytes = await readObject(ctx.s3, s.bucket, s.key, {
      maxBytes: MAX_OBJECT_BYTES,
      name: s.name,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    read.push({ bytes, header: checkImageBytes(bytes, s.name, ctx.maxPixels) });
  }
  return read;
}

/**
 * Builds the request for one card in the given mode. Every image is checked before any call (the
 * pre-flight: PNG or JPEG by its bytes, at most `maxPixels`; in `url` mode by {@link
 * checkStoredCard}, which the caller runs once an attempt), so a refused one costs no call. In
 * the inline modes the image bytes are held under the byte budget: six times the object's size,
 * as measured (bench/worker): the bytes, their Base64, the JSON body, the SDK's serialisation of
 * it and the request buffers; plus 4 bytes a pixel while a side is decoded to be downscaled.
 */
export async function presentCard(
  ctx: PresentContext,
  card: CardToPresent,
  mode: PresentMode,
): Promise<PresentedCard> {
  if (mode === 'url') return presentUrls(ctx, card);
  const estimate = 6 * (card.job.sizeBytes ?? 1024 * 1024);
  let share = await ctx.budget.acquire(estimate);
  try {
    let read = await readSides(ctx, card);
    const plan = planFit(
      read.map((r) => r.bytes.length),
      mode === 'downscaled',
    );
    const pixels = read.reduce((n, r, i) => n + (plan.shrink[i] ? r.header.width * r.header.height : 0), 0);
    if (pixels > 0) {
      // Given back and taken again whole, not topped up: a card waiting for more while holding
      // its share could wait forever on another doing the same. Nor does it hold its bytes while
      // it waits, outside the budget: with many cards waiting so, memory went far past it
      // (bench/worker). They are read again once the room is there.
      share();
      read = [];
      share = await ctx.budget.acquire(estimate + pixels * BYTES_PER_DECODED_PIXEL);
      read = await readSides(ctx, card);
    }
    const sides: Buffer[] = [];
    for (const [i, r] of read.entries())
      sides.push(
        plan.shrink[i] ? await downscaleToFit(r.bytes, plan.target, { maxPixels: ctx.maxPixels }) : r.bytes,
      );
    share.keepOnly(estimate);
    const [front, back] = sides.map((b): ImageSource => ({ base64: b.toString('base64') }));
    return {
      request: { front: front!, ...(back ? { back } : {}) },
      release: share,
      downscaled: sides.some((b, i) => b !== read[i]?.bytes),
    };
  } catch (e) {
    share();
    throw e;
  }
}
