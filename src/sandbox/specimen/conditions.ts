import type { SKRSContext2D } from '@napi-rs/canvas';
import { CARD_HEIGHT, CARD_WIDTH } from './draw.js';
import type { Random } from './random.js';

/**
 * The visible defects behind the API's warnings. Each must be plain to a person looking at the
 * image, since the truth says the API would warn about it.
 */

/** -9107 reflective: a bright, soft-edged ellipse of glare somewhere over the print. */
export function drawGlare(ctx: SKRSContext2D, r: Random): void {
  const cx = r.range(0.3, 0.75) * CARD_WIDTH;
  const cy = r.range(0.3, 0.7) * CARD_HEIGHT;
  const rx = r.range(150, 230);
  ctx.save();
  ctx.translate(cx, cy);
  ctx.rotate(r.range(-0.6, 0.6));
  ctx.scale(1, r.range(0.45, 0.7));
  const g = ctx.createRadialGradient(0, 0, 0, 0, 0, rx);
  g.addColorStop(0, 'rgba(255, 255, 255, 0.97)');
  g.addColorStop(0.45, 'rgba(255, 255, 255, 0.85)');
  g.addColorStop(1, 'rgba(255, 255, 255, 0)');
  ctx.fillStyle = g;
  ctx.beginPath();
  ctx.arc(0, 0, rx, 0, Math.PI * 2);
  ctx.fill();
  ctx.restore();
}

/** -9101 covered: a thumb (or, sometimes, a sticky note) over one corner of the card. */
export function drawCover(ctx: SKRSContext2D, r: Random, skin: string): void {
  const corner = r.int(0, 3);
  const right = corner === 1 || corner === 2;
  const bottom = corner >= 2;
  ctx.save();
  ctx.translate(right ? CARD_WIDTH : 0, bottom ? CARD_HEIGHT : 0);
  ctx.scale(right ? -1 : 1, bottom ? -1 : 1);
  if (r.chance(0.7)) {
    // A thumb coming in diagonally from outside the corner.
    ctx.rotate(r.range(0.55, 0.95));
    ctx.fillStyle = skin;
    ctx.strokeStyle = 'rgba(90, 50, 30, 0.5)';
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.roundRect(-120, -85, 320, 170, 85);
    ctx.fill();
    ctx.stroke();
    ctx.fillStyle = 'rgba(255, 235, 225, 0.85)';
    ctx.beginPath();
    ctx.ellipse(150, 0, 38, 50, 0, 0, Math.PI * 2);
    ctx.fill();
    ctx.stroke();
  } else {
    ctx.rotate(r.range(-0.25, 0.25));
    ctx.fillStyle = '#f7e36a';
    ctx.fillRect(-40, -40, 250, 210);
    ctx.strokeStyle = 'rgba(0, 0, 0, 0.2)';
    ctx.strokeRect(-40, -40, 250, 210);
  }
  ctx.restore();
}

/**
 * -9102 photocopy, on raw RGBA pixels: grey, harsher contrast, a lighter page and toner noise.
 * Returns a new buffer; seeded, so the same card gives the same bytes.
 */
export function photocopyPixels(rgba: Buffer, r: Random): Buffer {
  const out = Buffer.allocUnsafe(rgba.length);
  // A 32-bit xorshift inline: a Random call per pixel would double the cost of this loop.
  let s = Math.floor(r.next() * 0xffffffff) | 1;
  for (let i = 0; i < rgba.length; i += 4) {
    const luma = 0.299 * rgba[i]! + 0.587 * rgba[i + 1]! + 0.114 * rgba[i + 2]!;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const noise = ((s >>> 0) / 4294967296 - 0.5) * 46;
    const speck = (s & 0x3ff) === 0 ? -120 : 0;
    const v = Math.max(0, Math.min(255, (luma - 128) * 1.6 + 138 + noise + speck));
    out[i] = v;
    out[i + 1] = v;
    out[i + 2] = v;
    out[i + 3] = 255;
  }
  return out;
}

/** -9108 blurry: the Gaussian sigma handed to sharp; enough that small print is unreadable. */
export const BLUR_SIGMA = 3.2;
