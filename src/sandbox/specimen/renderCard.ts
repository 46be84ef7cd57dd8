import { createCanvas } from '@napi-rs/canvas';
import sharp from '../../sharp.js';
import { SPECIMEN_SCHEMA, type SpecimenTruth, truthToXmp } from '../emulator/groundTruth.js';
import { drawBack } from './back.js';
import { BLUR_SIGMA, drawCover, drawGlare, photocopyPixels } from './conditions.js';
import { CARD_HEIGHT, CARD_WIDTH } from './draw.js';
import { ensureFonts } from './fonts.js';
import { drawFront } from './front.js';
import type { SpecimenCard } from './generateCard.js';
import { createRandom } from './random.js';

/** Image encoding of rendered specimens. */
export type SpecimenFormat = 'jpeg' | 'png';

/** Options of {@link renderCard}. */
export interface RenderCardOptions {
  /** Default `jpeg`. */
  format?: SpecimenFormat;
  /** Also render the back; default true. */
  back?: boolean;
  /** JPEG quality 1-100; default 88. */
  quality?: number;
}

/** A rendered specimen: encoded images and the truth embedded in the front. */
export interface RenderedCard {
  front: Buffer;
  /** Present unless `back: false` was asked for. */
  back?: Buffer;
  /** The truth embedded in the front. */
  truth: SpecimenTruth;
  /** The truth embedded in the back: same fields, `side: 'back'`, no warnings, no portrait. */
  backTruth?: SpecimenTruth;
}

/** One side as raw pixels, before encoding: what the fault generator reuses. */
export interface RawSide {
  /** RGBA, 4 bytes a pixel, fully opaque. */
  rgba: Buffer;
  width: number;
  height: number;
  truth: SpecimenTruth;
  /** Gaussian sigma to blur with when encoding, for the blurry condition. */
  blurSigma?: number;
}

/** Draws one side and applies the card's condition (front only). */
export function renderSideRaw(card: SpecimenCard, side: 'front' | 'back'): RawSide {
  ensureFonts();
  const canvas = createCanvas(CARD_WIDTH, CARD_HEIGHT);
  const ctx = canvas.getContext('2d');
  const truth: SpecimenTruth = {
    schema: SPECIMEN_SCHEMA,
    specimenId: card.specimenId,
    side,
    fields: { ...card.fields },
    warnings: [],
    width: CARD_WIDTH,
    height: CARD_HEIGHT,
  };
  if (side === 'back') {
    // The back stays clean: the API's warnings are about the photo side it reads.
    drawBack(ctx, card, createRandom(card.seed, card.index, 5));
    return { rgba: Buffer.from(canvas.data()), width: CARD_WIDTH, height: CARD_HEIGHT, truth };
  }
  truth.portrait = drawFront(ctx, card, createRandom(card.seed, card.index, 4));
  truth.warnings = [...card.warnings];
  const rc = createRandom(card.seed, card.index, 6);
  if (card.condition === 'glare') drawGlare(ctx, rc);
  if (card.condition === 'cover') drawCover(ctx, rc, card.look.skin);
  // Copied: the canvas owns the memory behind data(), and sharp reads it asynchronously.
  let rgba: Buffer = Buffer.from(canvas.data());
  if (card.condition === 'photocopy') rgba = photocopyPixels(rgba, rc);
  const raw: RawSide = { rgba, width: CARD_WIDTH, height: CARD_HEIGHT, truth };
  if (card.condition === 'blur') raw.blurSigma = BLUR_SIGMA;
  return raw;
}

/** Encodes raw pixels as JPEG or PNG with the truth as an XMP packet. */
export async function encodeSide(
  raw: RawSide,
  format: SpecimenFormat = 'jpeg',
  quality = 88,
): Promise<Buffer> {
  let img = sharp(raw.rgba, { raw: { width: raw.width, height: raw.height, channels: 4 } }).removeAlpha();
  if (raw.blurSigma) img = img.blur(raw.blurSigma);
  img = format === 'png' ? img.png() : img.jpeg({ quality });
  return img.withXmp(truthToXmp(raw.truth)).toBuffer();
}

/**
 * Renders a specimen card (front, and back unless told not to) and embeds its ground truth,
 * which the API emulator reads back to "recognize" it. The output is deterministic: the same
 * card gives the same bytes.
 */
export async function renderCard(card: SpecimenCard, opts: RenderCardOptions = {}): Promise<RenderedCard> {
  const format = opts.format ?? 'jpeg';
  if (format !== 'jpeg' && format !== 'png') {
    throw new Error(`\`format\` must be jpeg or png, got \`${String(format)}\``);
  }
  const quality = opts.quality ?? 88;
  if (!(Number.isInteger(quality) && quality >= 1 && quality <= 100)) {
    throw new Error(`\`quality\` must be an integer from 1 to 100, got \`${quality}\``);
  }
  const front = renderSideRaw(card, 'front');
  const out: RenderedCard = { front: await encodeSide(front, format, quality), truth: front.truth };
  if (opts.back ?? true) {
    const back = renderSideRaw(card, 'back');
    out.back = await encodeSide(back, format, quality);
    out.backTruth = back.truth;
  }
  return out;
}
