import { DEFAULTS } from '../defaults.js';
import { API_LIMITS } from '../ocr/limits.js';
import sharp, { type Metadata } from '../sharp.js';
import { ImageRejection } from './preflight.js';

/** The API's limit on an image after Base64. */
export const MAX_BASE64_BYTES = API_LIMITS.maxImageBytes;
/** What we aim below when downscaling, leaving room for the rest of the 10 MB body. */
export const TARGET_BASE64_BYTES = 6 * 1024 * 1024;

/** Length of `n` bytes in Base64. */
export const base64Length = (n: number): number => Math.ceil(n / 3) * 4;

/** Options of {@link downscaleToFit}. */
export interface DownscaleOptions {
  /**
   * Most pixels (width × height) the input may have to be decoded (sharp's `limitInputPixels`);
   * default {@link DEFAULTS.maxPixels} (50,000,000). Over it: `Image.TooManyPixels`.
   */
  maxPixels?: number;
}

/**
 * Shrinks an image until its Base64 fits under the target (bytes, default 6 MB), as a JPEG that
 * carries no metadata at all: no EXIF (GPS, camera, dates), no XMP, no IPTC, no ICC profile.
 * Whatever an uploader's device wrote into a scan stays in the customer's bucket; the provider
 * gets pixels. The EXIF orientation is applied to the pixels first, so the card stays upright.
 * Bytes sharp cannot read are returned as they are: the API will say what is wrong with them.
 */
export async function downscaleToFit(
  image: Buffer,
  targetBase64 = TARGET_BASE64_BYTES,
  opts: DownscaleOptions = {},
): Promise<Buffer> {
  const limitInputPixels = opts.maxPixels ?? DEFAULTS.maxPixels;
  let meta: Metadata;
  try {
    // The header only, no pixels: the size is checked here, and the decode below is held to it.
    meta = await sharp(image).metadata();
  } catch {
    return image;
  }
  const width = meta.autoOrient?.width ?? meta.width;
  const height = meta.autoOrient?.height ?? meta.height;
  if (!width || !height) return image;
  if (width * height > limitInputPixels)
    throw new ImageRejection(
      'Image.TooManyPixels',
      `an image of ${width} × ${height} pixels is over the ${limitInputPixels} allowed to decode`,
    );
  let out = image;
  let scale = Math.min(1, Math.sqrt(targetBase64 / base64Length(image.length)) * 0.95);
  for (let i = 0; i < 4 && (base64Length(out.length) > targetBase64 || i === 0); i++) {
    // No keepMetadata/withMetadata: sharp writes none unless told to.
    out = await sharp(image, { limitInputPixels })
      .rotate()
      .resize({
        width: Math.max(64, Math.round(width * scale)),
        height: Math.max(64, Math.round(height * scale)),
        fit: 'inside',
      })
      .jpeg({ quality: 88, mozjpeg: false })
      .toBuffer();
    scale *= 0.75;
  }
  return out;
}
