import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { type SpecimenTruth, truthToXmp } from '../emulator/groundTruth.js';
import { paintTruthStrip } from '../emulator/truthStrip.js';
import type { SpecimenCard } from './generateCard.js';
import { renderSideRaw } from './renderCard.js';

/**
 * One side of a specimen as a PNG of about `targetBytes` (±3%), carrying its truth: scaled up,
 * with random noise in the low bits of every pixel so that PNG cannot compress it, like a photo
 * scanned at high resolution. For the worker's limits: images near the API's 7 MB, two sides
 * whose Base64 together pass its 10 MB body, and memory (bench/worker).
 */
export async function bigSide(
  card: SpecimenCard,
  side: 'front' | 'back',
  targetBytes: number,
): Promise<Buffer> {
  const raw = renderSideRaw(card, side);
  let width = Math.round(Math.sqrt(targetBytes / 2.5 / 0.63));
  for (let tries = 0; ; tries++) {
    const height = Math.round(width * 0.63);
    const px = await sharp(raw.rgba, { raw: { width: raw.width, height: raw.height, channels: 4 } })
      .removeAlpha()
      .resize(width, height)
      .raw()
      .toBuffer();
    const noise = randomBytes(px.length);
    for (let i = 0; i < px.length; i++) px[i] = px[i]! ^ (noise[i]! & 0x3f);
    const scale = width / raw.width;
    const box = raw.truth.portrait;
    const truth: SpecimenTruth = {
      ...raw.truth,
      width,
      height,
      ...(box
        ? {
            portrait: {
              left: Math.round(box.left * scale),
              top: Math.round(box.top * scale),
              width: Math.round(box.width * scale),
              height: Math.round(box.height * scale),
            },
          }
        : {}),
    };
    // Large enough to be downscaled, which drops the XMP: the strip carries the truth through.
    paintTruthStrip(px, { width, height, channels: 3 }, truth);
    const png = await sharp(px, { raw: { width, height, channels: 3 } })
      .png({ compressionLevel: 6 })
      .withXmp(truthToXmp(truth))
      .toBuffer();
    if (Math.abs(png.length / targetBytes - 1) <= 0.03 || tries >= 3) return png;
    width = Math.round(width * Math.sqrt(targetBytes / png.length));
  }
}
