import type { S3Client } from '@aws-sdk/client-s3';
import { readObjectRange } from '../storage/objects.js';
import {
  type HeaderReading,
  type ImageHeader,
  MAX_HEADER_OFFSET,
  readHeader,
  readJpeg,
} from './imageHeader.js';

/**
 * The worker's pre-flight: before a card costs a call, each image's real format and pixel count
 * are read from its first bytes. What is not a PNG or a JPEG by its bytes, or declares more pixels
 * than `maxPixels`, is rejected here, unpaid; a decompression bomb is never decoded.
 */

/** Bytes of each read of an image's header: the first, and each further one of a JPEG. */
export const HEADER_READ_BYTES = 64 * 1024;

/** Our codes for an image refused before the call (src/ocr/errorTable.ts). */
export type ImageRejectionCode = 'Image.NotPngOrJpeg' | 'Image.TooManyPixels';

/** An image refused by the pre-flight: `rejected`, never retried, never sent. */
export class ImageRejection extends Error {
  override readonly name = 'ImageRejection';
  readonly code: ImageRejectionCode;

  constructor(code: ImageRejectionCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** One side of a card in object storage, and how messages name it (never by its key). */
export interface StoredImage {
  bucket: string;
  key: string;
  /** e.g. "the front image of card cv1-…". */
  name: string;
}

const count = (n: number): string => n.toLocaleString('en-US');

/** The header of a final reading, or the rejection it calls for. */
function accept(reading: HeaderReading, name: string, maxPixels: number): ImageHeader {
  if ('notPngOrJpeg' in reading)
    throw new ImageRejection('Image.NotPngOrJpeg', `${name} is not a PNG or a JPEG: ${reading.notPngOrJpeg}`);
  if ('needBytesFrom' in reading)
    throw new ImageRejection(
      'Image.NotPngOrJpeg',
      `${name} is not a PNG or a JPEG: a JPEG that ends before its frame header`,
    );
  const { width, height } = reading.header;
  if (width * height > maxPixels)
    throw new ImageRejection(
      'Image.TooManyPixels',
      `${name} is ${width} × ${height} pixels (${count(width * height)}), over the ${count(maxPixels)} allowed (maxPixels, MACAO_OCR_MAX_PIXELS)`,
    );
  return reading.header;
}

/**
 * Checks an image whose bytes are all in memory (the inline modes): its format by magic bytes,
 * its size by its header. Throws an {@link ImageRejection}; returns the header when it passes.
 */
export function checkImageBytes(bytes: Buffer, name: string, maxPixels: number): ImageHeader {
  return accept(readHeader(bytes), name, maxPixels);
}

/**
 * Checks an image in object storage from its first bytes (`url` mode, where the worker holds no
 * image): a ranged GET of 64 KB, then, for a JPEG whose frame header lies further, reads from the
 * next segment on (skipping the bodies between), up to {@link MAX_HEADER_OFFSET} into the file.
 */
export async function checkStoredImage(
  s3: S3Client,
  image: StoredImage,
  maxPixels: number,
  signal?: AbortSignal,
): Promise<ImageHeader> {
  const opts = { name: image.name, ...(signal ? { signal } : {}) };
  const range = (start: number) =>
    readObjectRange(s3, image.bucket, image.key, { start, end: start + HEADER_READ_BYTES - 1 }, opts);
  const first = await range(0);
  let reading = readHeader(first.bytes);
  // Fewer bytes than asked for: that was the whole file, and there is nothing further to read.
  const size = first.bytes.length < HEADER_READ_BYTES ? first.bytes.length : first.size;
  let lastFrom = -1;
  while ('needBytesFrom' in reading) {
    const from = reading.needBytesFrom;
    // No progress since the last read (it stopped at the end of the file), or past the end.
    if (from === lastFrom || (size !== undefined && from >= size)) break;
    lastFrom = from;
    reading = readJpeg((await range(from)).bytes, from, from);
  }
  return accept(reading, image.name, maxPixels);
}
