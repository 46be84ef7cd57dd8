import type { SKRSContext2D } from '@napi-rs/canvas';
import type { PortraitLook } from './generateCard.js';

/** A portrait area in image pixels, the shape of `SpecimenTruth.portrait`. */
export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** The frame and the face's centre and radii, which every part of the portrait is placed by. */
interface Face {
  x: number;
  y: number;
  w: number;
  h: number;
  cx: number;
  cy: number;
  rx: number;
  ry: number;
}

/**
 * A simple vector head-and-shoulders in the frame `box`, in the seeded colours of `look`. It is
 * meant to read as "a passport photo" at a glance, not as anyone in particular.
 */
export function drawPortrait(ctx: SKRSContext2D, box: Box, look: PortraitLook, alpha = 1): void {
  const { left: x, top: y, width: w, height: h } = box;
  ctx.save();
  ctx.globalAlpha = alpha;
  ctx.beginPath();
  ctx.rect(x, y, w, h);
  ctx.clip();
  ctx.fillStyle = look.backdrop;
  ctx.fillRect(x, y, w, h);

  const rx = (w * look.faceWidth) / 2;
  const face: Face = { x, y, w, h, cx: x + w / 2, cy: y + h * 0.4, rx, ry: rx * 1.32 };
  // Back to front: long hair behind the shoulders, the body, the head, the hair over it, the face.
  if (look.hairStyle === 'long') drawLongHair(ctx, face, look);
  drawBody(ctx, face, look);
  drawHead(ctx, face);
  drawHair(ctx, face, look);
  drawFeatures(ctx, face, look);
  if (look.glasses) drawGlasses(ctx, face);
  ctx.restore();
  ctx.save();
  ctx.strokeStyle = 'rgba(40, 60, 90, 0.45)';
  ctx.lineWidth = 1.5;
  ctx.strokeRect(x + 0.75, y + 0.75, w - 1.5, h - 1.5);
  ctx.restore();
}

function drawLongHair(ctx: SKRSContext2D, { cx, cy, rx, ry }: Face, look: PortraitLook): void {
  ctx.fillStyle = look.hair;
  ctx.beginPath();
  ctx.roundRect(cx - rx * 1.25, cy - ry * 1.05, rx * 2.5, ry * 2.35, [
    rx * 1.2,
    rx * 1.2,
    rx * 0.3,
    rx * 0.3,
  ]);
  ctx.fill();
}

/** Shoulders and shirt, then a collar opening showing the neck; leaves the skin colour as fill. */
function drawBody(ctx: SKRSContext2D, { x, y, w, h, cx, cy, rx, ry }: Face, look: PortraitLook): void {
  ctx.fillStyle = look.shirt;
  ctx.beginPath();
  ctx.moveTo(x - 10, y + h + 10);
  ctx.bezierCurveTo(x + w * 0.02, y + h * 0.8, cx - rx * 1.6, y + h * 0.74, cx, y + h * 0.74);
  ctx.bezierCurveTo(cx + rx * 1.6, y + h * 0.74, x + w * 0.98, y + h * 0.8, x + w + 10, y + h + 10);
  ctx.closePath();
  ctx.fill();
  ctx.fillStyle = look.skin;
  ctx.beginPath();
  ctx.moveTo(cx - rx * 0.42, cy + ry * 0.6);
  ctx.lineTo(cx + rx * 0.42, cy + ry * 0.6);
  ctx.lineTo(cx + rx * 0.42, y + h * 0.76);
  ctx.lineTo(cx, y + h * 0.83);
  ctx.lineTo(cx - rx * 0.42, y + h * 0.76);
  ctx.closePath();
  ctx.fill();
}

/** Ears, head, in the current fill (the skin, from {@link drawBody}). */
function drawHead(ctx: SKRSContext2D, { cx, cy, rx, ry }: Face): void {
  ctx.beginPath();
  ctx.ellipse(cx - rx * 0.98, cy + ry * 0.05, rx * 0.16, ry * 0.2, 0, 0, Math.PI * 2);
  ctx.ellipse(cx + rx * 0.98, cy + ry * 0.05, rx * 0.16, ry * 0.2, 0, 0, Math.PI * 2);
  ctx.fill();
  ctx.beginPath();
  ctx.ellipse(cx, cy, rx, ry, 0, 0, Math.PI * 2);
  ctx.fill();
}

/** The crown, down to the temples, with a fringe curving across the forehead; a bun or a parting. */
function drawHair(ctx: SKRSContext2D, { cx, cy, rx, ry }: Face, look: PortraitLook): void {
  ctx.fillStyle = look.hair;
  ctx.beginPath();
  ctx.ellipse(cx, cy - ry * 0.22, rx * 1.07, ry * 0.86, 0, Math.PI, Math.PI * 2);
  ctx.lineTo(cx + rx * 1.0, cy - ry * 0.02);
  ctx.quadraticCurveTo(cx + rx * 0.7, cy - ry * 0.55, cx, cy - ry * 0.52);
  ctx.quadraticCurveTo(cx - rx * 0.7, cy - ry * 0.55, cx - rx * 1.0, cy - ry * 0.02);
  ctx.closePath();
  ctx.fill();
  if (look.hairStyle === 'bun') {
    ctx.beginPath();
    ctx.arc(cx, cy - ry * 1.12, rx * 0.42, 0, Math.PI * 2);
    ctx.fill();
  }
  if (look.hairStyle === 'parted') {
    ctx.beginPath();
    ctx.moveTo(cx - rx * 0.2, cy - ry * 1.04);
    ctx.quadraticCurveTo(cx + rx * 0.7, cy - ry * 0.75, cx + rx * 1.02, cy - ry * 0.25);
    ctx.lineTo(cx + rx * 1.05, cy - ry * 0.6);
    ctx.closePath();
    ctx.fill();
  }
}

/** Eyebrows, eyes, nose, mouth. */
function drawFeatures(ctx: SKRSContext2D, { cx, cy, rx, ry }: Face, look: PortraitLook): void {
  const eyeY = cy + ry * 0.02;
  ctx.strokeStyle = look.hair;
  ctx.lineWidth = Math.max(2, rx * 0.07);
  ctx.lineCap = 'round';
  for (const s of [-1, 1]) {
    ctx.beginPath();
    ctx.moveTo(cx + s * rx * 0.58, eyeY - ry * 0.16);
    ctx.quadraticCurveTo(cx + s * rx * 0.38, eyeY - ry * 0.22, cx + s * rx * 0.16, eyeY - ry * 0.15);
    ctx.stroke();
  }
  ctx.fillStyle = '#2a211c';
  for (const s of [-1, 1]) {
    ctx.beginPath();
    ctx.ellipse(cx + s * rx * 0.37, eyeY, rx * 0.1, ry * 0.05, 0, 0, Math.PI * 2);
    ctx.fill();
  }
  ctx.strokeStyle = 'rgba(90, 50, 30, 0.55)';
  ctx.lineWidth = Math.max(1.5, rx * 0.04);
  ctx.beginPath();
  ctx.moveTo(cx, eyeY + ry * 0.05);
  ctx.quadraticCurveTo(cx - rx * 0.1, eyeY + ry * 0.3, cx + rx * 0.06, eyeY + ry * 0.32);
  ctx.stroke();
  ctx.strokeStyle = '#9a4a42';
  ctx.lineWidth = Math.max(2, rx * 0.06);
  ctx.beginPath();
  ctx.moveTo(cx - rx * 0.28, eyeY + ry * 0.5);
  ctx.quadraticCurveTo(cx, eyeY + ry * 0.58, cx + rx * 0.28, eyeY + ry * 0.5);
  ctx.stroke();
}

function drawGlasses(ctx: SKRSContext2D, { cx, cy, rx, ry }: Face): void {
  const eyeY = cy + ry * 0.02;
  ctx.strokeStyle = '#222';
  ctx.lineWidth = Math.max(2, rx * 0.05);
  for (const s of [-1, 1]) {
    ctx.beginPath();
    ctx.roundRect(cx + s * rx * 0.37 - rx * 0.27, eyeY - ry * 0.13, rx * 0.54, ry * 0.27, rx * 0.08);
    ctx.stroke();
  }
  ctx.beginPath();
  ctx.moveTo(cx - rx * 0.1, eyeY - ry * 0.03);
  ctx.lineTo(cx + rx * 0.1, eyeY - ry * 0.03);
  ctx.stroke();
}
