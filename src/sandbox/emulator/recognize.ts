import { createHash } from 'node:crypto';
import { CARD_FIELD_NAMES } from '../../card/fields.js';
import type { RecognizeMacaoIDCardOCRResponse } from '../../ocr/types.js';
import sharp, { type Metadata } from '../../sharp.js';
import { ApiError, toError } from './errors.js';
import { type SpecimenTruth, truthFromXmp } from './groundTruth.js';
import { readTruthStrip } from './truthStrip.js';

/** An image that decoded, with the specimen truth it carries, if any. */
export interface DecodedImage {
  bytes: Buffer;
  format: 'jpeg' | 'png';
  width: number;
  height: number;
  truth: SpecimenTruth | undefined;
}

/**
 * Decodes an image as the service would before reading it: empty is `EmptyImageError`; anything
 * but a whole PNG or JPEG (GIF included, which the API page excludes; a truncated JPEG too, hence
 * the full pixel decode and not just the header) is `ImageDecodeFailed`.
 */
export async function decodeImage(bytes: Buffer, side: 'front' | 'back'): Promise<DecodedImage> {
  if (bytes.length === 0) throw new ApiError('FailedOperation.EmptyImageError');
  const failed = (why: string) =>
    new ApiError('FailedOperation.ImageDecodeFailed', `Failed to decode the ${side} image: ${why}.`);
  let meta: Metadata;
  try {
    meta = await sharp(bytes).metadata();
  } catch {
    throw failed('unsupported image format');
  }
  if (meta.format === 'gif') throw failed('GIF is not supported');
  if (meta.format !== 'jpeg' && meta.format !== 'png') throw failed('only PNG and JPEG are supported');
  // The pixel decode below does not always catch a truncated image: with many decodes at once,
  // sharp/libvips sometimes loses a truncated JPEG's error (13 of 150 under load here), and a
  // truncated scan would be "recognized". The end marker is checked first.
  if (!hasEndMarker(bytes, meta.format)) throw failed('premature end of image');
  try {
    await sharp(bytes).stats();
  } catch (thrown) {
    // sharp's message ("premature end of JPEG image") names no data of the card; keep it for the reader.
    throw failed(
      toError(thrown)
        .message.replace(/^\S+: /, '')
        .slice(0, 80),
    );
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  // A specimen the worker re-encoded (downscaled) has no XMP any more: its truth strip remains.
  const truth = truthFromXmp(meta.xmpAsString) ?? (await readTruthStrip(bytes, { width, height }));
  return { bytes, format: meta.format, width, height, truth };
}

/**
 * What decoding found, by the SHA-256 of the bytes: the emulator's shortcut, not the service's
 * behaviour. A specimen's decode (header, full pixel decode, XMP) costs ~30 ms of CPU; at 50
 * calls/s that is 1.5 of a 2-core machine's cores, taken from the very workers the emulator is
 * there to measure (bench/worker's quota section: the emulator at 110-130% CPU, the workers'
 * calls late and the machine at a load average of 7). The same bytes always decode the same way,
 * so answering again from their digest (~0.1 ms) changes no answer. Only images that decoded are
 * kept, so a bad image is decoded, and refused, every time; the least recently used entry goes
 * first beyond `capacity`. One per emulator.
 */
export class DecodeCache {
  private readonly entries = new Map<string, Omit<DecodedImage, 'bytes'>>();

  constructor(private readonly capacity = 256) {}

  /** Entries held: at most `capacity`. */
  get size(): number {
    return this.entries.size;
  }

  /** {@link decodeImage}, from the digest when these bytes decoded before. */
  async decode(bytes: Buffer, side: 'front' | 'back'): Promise<DecodedImage> {
    if (bytes.length === 0) return decodeImage(bytes, side);
    const key = createHash('sha256').update(bytes).digest('hex');
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return { ...hit, bytes };
    }
    const image = await decodeImage(bytes, side);
    const { bytes: _decoded, ...found } = image;
    this.entries.set(key, found);
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return image;
  }
}

/**
 * Whether the encoded image ends as a whole one does: a JPEG has an EOI marker (FF D9) after its
 * first scan (inside entropy-coded data FF is always followed by 00 or a restart marker, so FF D9
 * cannot occur there; an embedded thumbnail's EOI comes before the scan); a PNG has its IEND chunk.
 */
export function hasEndMarker(bytes: Buffer, format: 'jpeg' | 'png'): boolean {
  if (format === 'png') return bytes.lastIndexOf('IEND', undefined, 'latin1') > 8;
  const sos = bytes.indexOf(Buffer.from([0xff, 0xda]));
  return sos !== -1 && bytes.lastIndexOf(Buffer.from([0xff, 0xd9])) > sos;
}

/** The truth of a decoded image if it is a specimen of the expected side; else `ImageNoSpecifiedCard`. */
export function specimenSide(image: DecodedImage, side: 'front' | 'back'): SpecimenTruth {
  if (!image.truth || image.truth.side !== side) {
    throw new ApiError(
      'FailedOperation.ImageNoSpecifiedCard',
      side === 'front'
        ? 'The card in the image is not of the specified type.'
        : 'The back image is not the back of the specified type of card.',
    );
  }
  return image.truth;
}

async function portraitJpeg(image: DecodedImage, truth: SpecimenTruth): Promise<string> {
  const box = truth.portrait;
  if (!box || !(truth.width > 0) || !(truth.height > 0) || !(image.width > 0) || !(image.height > 0))
    return '';
  // The truth's box is in rendered pixels; the image may since have been scaled.
  const sx = image.width / truth.width;
  const sy = image.height / truth.height;
  const left = Math.min(Math.max(0, Math.round(box.left * sx)), image.width - 1);
  const top = Math.min(Math.max(0, Math.round(box.top * sy)), image.height - 1);
  const width = Math.max(1, Math.min(Math.round(box.width * sx), image.width - left));
  const height = Math.max(1, Math.min(Math.round(box.height * sy), image.height - top));
  const crop = await sharp(image.bytes)
    .extract({ left, top, width, height })
    .jpeg({ quality: 90 })
    .toBuffer();
  return crop.toString('base64');
}

/**
 * The success answer for a specimen front: its printed fields and warnings from the ground truth,
 * and `RetImage` as `Config` asked. The API page documents `portrait` (the portrait crop) and ""
 * (no image); its example asks for `preprocess` and answers an empty `RetImage`, as this does.
 */
export async function recognizedResponse(
  front: DecodedImage,
  truth: SpecimenTruth,
  retImage: '' | 'portrait' | 'preprocess',
  requestId: string,
  account: {
    omitFields: readonly string[];
    warningService: boolean;
    extraFields?: Readonly<Record<string, string>>;
  },
): Promise<RecognizeMacaoIDCardOCRResponse> {
  const { omitFields } = account;
  const fields: Record<string, string> = {};
  for (const name of CARD_FIELD_NAMES)
    if (!omitFields.includes(name)) fields[name] = truth.fields[name] ?? '';
  let image = '';
  if (retImage === 'portrait') image = await portraitJpeg(front, truth);
  return {
    Angle: '0',
    ...fields,
    RetImage: image,
    WarnCardInfos: account.warningService ? [...truth.warnings] : [-9109],
    ...account.extraFields,
    RequestId: requestId,
  };
}
