import type { SKRSContext2D } from '@napi-rs/canvas';
import { FONTS } from './fonts.js';
import type { Random } from './random.js';

/** Drawing pieces both card sides share: card shape, security-style background, labels, the SPECIMEN mark. */

/** Rendered image size: ISO/IEC 7810 ID-1 (85.60 x 53.98 mm) at about 300 dpi. */
export const CARD_WIDTH = 1000;
export const CARD_HEIGHT = 630;
const RADIUS = 38;

export const INK = '#1f2f4a';
export const INK_SOFT = '#5b6b82';
export const ACCENT = '#1d5b8f';

export function cardPath(ctx: SKRSContext2D, inset = 0): void {
  ctx.beginPath();
  ctx.roundRect(inset, inset, CARD_WIDTH - 2 * inset, CARD_HEIGHT - 2 * inset, RADIUS - inset);
}

/**
 * The card body: the scanner bed shows in the rounded corners, then a pale gradient, a guilloche
 * of seeded sine waves and a faint lotus. Every pixel is painted opaque, which lets the encoder
 * read the canvas's premultiplied pixels as plain RGBA.
 */
export function drawCardBody(
  ctx: SKRSContext2D,
  r: Random,
  colours: readonly [string, string, string],
): void {
  ctx.fillStyle = '#d8d8d4';
  ctx.fillRect(0, 0, CARD_WIDTH, CARD_HEIGHT);
  ctx.save();
  cardPath(ctx);
  ctx.clip();
  const g = ctx.createLinearGradient(0, 0, CARD_WIDTH, CARD_HEIGHT);
  g.addColorStop(0, colours[0]);
  g.addColorStop(0.55, colours[1]);
  g.addColorStop(1, colours[2]);
  ctx.fillStyle = g;
  ctx.fillRect(0, 0, CARD_WIDTH, CARD_HEIGHT);
  drawGuilloche(ctx, r);
  drawLotus(ctx, 770, 360, 190, 'rgba(29, 91, 143, 0.07)');
  ctx.restore();
  ctx.save();
  cardPath(ctx, 1);
  ctx.strokeStyle = 'rgba(40, 60, 90, 0.35)';
  ctx.lineWidth = 2;
  ctx.stroke();
  ctx.restore();
}

function drawGuilloche(ctx: SKRSContext2D, r: Random): void {
  const phase = r.range(0, Math.PI * 2);
  const freq = r.range(0.011, 0.016);
  ctx.lineWidth = 0.8;
  for (let k = 0; k < 26; k++) {
    ctx.strokeStyle = k % 2 ? 'rgba(60, 120, 170, 0.12)' : 'rgba(170, 90, 140, 0.10)';
    ctx.beginPath();
    for (let x = 0; x <= CARD_WIDTH; x += 8) {
      const y =
        k * 26 + 14 * Math.sin(x * freq + phase + k * 0.45) + 7 * Math.sin(x * freq * 2.7 - phase + k * 0.2);
      if (x === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    }
    ctx.stroke();
  }
}

/** A stylised lotus (petals from bezier curves); generic, not any official emblem. */
export function drawLotus(ctx: SKRSContext2D, cx: number, cy: number, size: number, fill: string): void {
  ctx.save();
  ctx.translate(cx, cy);
  ctx.fillStyle = fill;
  for (const [angle, scale] of [
    [0, 1],
    [-0.55, 0.85],
    [0.55, 0.85],
    [-1.1, 0.7],
    [1.1, 0.7],
  ] as const) {
    ctx.save();
    ctx.rotate(angle);
    ctx.beginPath();
    ctx.moveTo(0, 0);
    ctx.bezierCurveTo(
      size * 0.28 * scale,
      -size * 0.35 * scale,
      size * 0.12 * scale,
      -size * 0.8 * scale,
      0,
      -size * scale,
    );
    ctx.bezierCurveTo(
      -size * 0.12 * scale,
      -size * 0.8 * scale,
      -size * 0.28 * scale,
      -size * 0.35 * scale,
      0,
      0,
    );
    ctx.fill();
    ctx.restore();
  }
  ctx.fillRect(-size * 0.5, size * 0.06, size, size * 0.05);
  ctx.fillRect(-size * 0.35, size * 0.16, size * 0.7, size * 0.04);
  ctx.restore();
}

/**
 * A title in the card's three languages: the Chinese line in ink, then the Portuguese (bold) and
 * English lines in the accent colour, 2 px further right. `sizes` and `baselines` go line by line.
 */
export function drawTitle(
  ctx: SKRSContext2D,
  [zh, pt, en]: readonly [string, string, string],
  x: number,
  baselines: readonly [number, number, number],
  sizes: readonly [number, number, number],
): void {
  ctx.textBaseline = 'alphabetic';
  ctx.fillStyle = INK;
  ctx.font = `bold ${sizes[0]}px ${FONTS.cjk}`;
  ctx.fillText(zh, x, baselines[0]);
  ctx.fillStyle = ACCENT;
  ctx.font = `bold ${sizes[1]}px ${FONTS.sans}`;
  ctx.fillText(pt, x + 2, baselines[1]);
  ctx.font = `${sizes[2]}px ${FONTS.sans}`;
  ctx.fillText(en, x + 2, baselines[2]);
}

/** Sets the font, shrinking it until `text` fits in `maxWidth` (long Portuguese names). */
export function fitText(
  ctx: SKRSContext2D,
  text: string,
  font: (px: number) => string,
  px: number,
  maxWidth: number,
): void {
  let size = px;
  ctx.font = font(size);
  while (size > 8 && ctx.measureText(text).width > maxWidth) {
    size -= 1;
    ctx.font = font(size);
  }
}

/**
 * A field label as the card prints it: Chinese, then Portuguese / English in smaller type, on
 * one line (`stacked` false) or under it. Returns the y of the label's last line.
 */
export function drawLabel(
  ctx: SKRSContext2D,
  x: number,
  y: number,
  zh: string,
  latin: string,
  stacked = false,
): number {
  ctx.fillStyle = INK_SOFT;
  ctx.textBaseline = 'alphabetic';
  ctx.font = `15px ${FONTS.cjk}`;
  ctx.fillText(zh, x, y);
  const w = ctx.measureText(zh).width;
  ctx.font = `12px ${FONTS.sans}`;
  ctx.fillText(latin, stacked ? x : x + w + 8, stacked ? y + 15 : y);
  return stacked ? y + 15 : y;
}

/** A stacked label and its value below it. */
export function drawField(
  ctx: SKRSContext2D,
  x: number,
  y: number,
  label: readonly [string, string],
  value: string,
  opts: { px?: number; maxWidth?: number } = {},
): void {
  const bottom = drawLabel(ctx, x, y, label[0], label[1], true);
  ctx.fillStyle = INK;
  fitText(ctx, value, (px) => `bold ${px}px ${FONTS.sans}`, opts.px ?? 25, opts.maxWidth ?? 400);
  ctx.fillText(value, x, bottom + 30);
}

/**
 * The SPECIMEN / 樣本 mark: big, diagonal, outlined and half transparent so a person sees at
 * once that this is no real document, while the fields under it stay readable.
 */
export function drawSpecimenMark(ctx: SKRSContext2D, cx: number, cy: number): void {
  ctx.save();
  ctx.translate(cx, cy);
  ctx.rotate(-0.3);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.font = `bold 104px ${FONTS.sans}`;
  ctx.fillStyle = 'rgba(210, 20, 40, 0.10)';
  ctx.strokeStyle = 'rgba(210, 20, 40, 0.42)';
  ctx.lineWidth = 2;
  ctx.fillText('SPECIMEN 樣本', 0, 0);
  ctx.strokeText('SPECIMEN 樣本', 0, 0);
  ctx.restore();
  // A plain stamp in a corner too, legible even where the diagonal crosses busy print.
  ctx.save();
  ctx.font = `bold 17px ${FONTS.sans}`;
  const text = '樣本 SPECIMEN · 非有效證件 NOT A VALID DOCUMENT';
  const w = ctx.measureText(text).width + 24;
  const x = CARD_WIDTH - w - 40;
  const y = CARD_HEIGHT - 50;
  ctx.fillStyle = 'rgba(255, 255, 255, 0.8)';
  ctx.strokeStyle = '#c8142a';
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.roundRect(x, y, w, 30, 6);
  ctx.fill();
  ctx.stroke();
  ctx.fillStyle = '#c8142a';
  ctx.textBaseline = 'middle';
  ctx.fillText(text, x + 12, y + 16);
  ctx.restore();
}
