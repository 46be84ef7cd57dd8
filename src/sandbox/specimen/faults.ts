import { createCanvas } from '@napi-rs/canvas';
import { API_LIMITS } from '../../ocr/limits.js';
import sharp from '../../sharp.js';
import { truthToXmp } from '../emulator/groundTruth.js';
import { paintTruthStrip } from '../emulator/truthStrip.js';
import { generateCard } from './generateCard.js';
import { createRandom, type Random } from './random.js';
import { encodeSide, renderSideRaw } from './renderCard.js';
import type { FaultKind, SampleObject } from './sampleTypes.js';

/**
 * Bad inputs for a dataset with faults (`samples --faults`): each one is something a real bucket
 * holds sooner or later, and each must end as a clean `rejected` or `skipped`, never a crash.
 */

/** The API's image limit: the oversize fault exceeds it in raw bytes already. */
export const OVERSIZE_MIN_BYTES = API_LIMITS.maxImageBytes;

const KIND_NUMBER: Readonly<Record<FaultKind, number>> = {
  gif: 1,
  truncated: 2,
  empty: 3,
  oversize: 4,
  'not-a-card': 5,
  'text-as-jpg': 6,
};

/** Fault cards get indexes far from the good cards', so their specimen ids never collide. */
function faultCard(seed: number, kind: FaultKind, ordinal: number) {
  return generateCard(seed, 1_000_000 + KIND_NUMBER[kind] * 10_000 + ordinal, { conditionRate: 0 });
}

/** A seeded landscape (sky, sun, hills, sea): decodable, plainly a photo, and no card. */
function drawLandscape(r: Random): Buffer {
  const w = 1000;
  const h = 700;
  const canvas = createCanvas(w, h);
  const ctx = canvas.getContext('2d');
  const sky = ctx.createLinearGradient(0, 0, 0, h * 0.6);
  sky.addColorStop(0, r.pick(['#1e4f8c', '#3b6fb0', '#5a3f7a']));
  sky.addColorStop(1, r.pick(['#f2b279', '#f7d9a8', '#b9d7ef']));
  ctx.fillStyle = sky;
  ctx.fillRect(0, 0, w, h);
  ctx.fillStyle = 'rgba(255, 240, 200, 0.9)';
  ctx.beginPath();
  ctx.arc(r.range(150, 850), r.range(90, 250), r.range(35, 60), 0, Math.PI * 2);
  ctx.fill();
  for (const [base, colour] of [
    [0.5, '#4b5d4a'],
    [0.58, '#34473a'],
  ] as const) {
    ctx.fillStyle = colour;
    ctx.beginPath();
    ctx.moveTo(0, h);
    for (let x = 0; x <= w; x += 20) {
      ctx.lineTo(x, h * base - 60 * Math.sin(x / r.range(90, 160) + r.range(0, 0.3)) - r.range(0, 25));
    }
    ctx.lineTo(w, h);
    ctx.fill();
  }
  const sea = ctx.createLinearGradient(0, h * 0.68, 0, h);
  sea.addColorStop(0, '#2f6f8f');
  sea.addColorStop(1, '#173d56');
  ctx.fillStyle = sea;
  ctx.fillRect(0, h * 0.68, w, h * 0.32);
  return Buffer.from(canvas.data());
}

async function oversize(seed: number, ordinal: number): Promise<SampleObject> {
  const card = faultCard(seed, 'oversize', ordinal);
  const raw = renderSideRaw(card, 'front');
  const scale = 2.5;
  const width = raw.width * scale;
  const height = raw.height * scale;
  const big = await sharp(raw.rgba, { raw: { width: raw.width, height: raw.height, channels: 4 } })
    .removeAlpha()
    .resize(width, height, { kernel: 'cubic' })
    .raw()
    .toBuffer();
  // Seeded grain defeats PNG compression, which is the point: a photo-sized file, still readable.
  let s = Math.floor(createRandom(seed, ordinal, 8).next() * 0xffffffff) | 1;
  for (let i = 0; i < big.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    big[i] = Math.max(0, Math.min(255, big[i]! + ((s & 31) - 16)));
  }
  const p = raw.truth.portrait!;
  const truth = {
    ...raw.truth,
    width,
    height,
    portrait: { left: p.left * scale, top: p.top * scale, width: p.width * scale, height: p.height * scale },
  };
  // Too large to send as it is: the worker downscales it, dropping the XMP; the strip stays.
  paintTruthStrip(big, { width, height, channels: 3 }, truth);
  const body = await sharp(big, { raw: { width, height, channels: 3 } })
    .png({ compressionLevel: 1 })
    .withXmp(truthToXmp(truth))
    .toBuffer();
  if (body.length <= OVERSIZE_MIN_BYTES) {
    throw new Error(`oversize fault came out at ${body.length} bytes, not over ${OVERSIZE_MIN_BYTES}`);
  }
  return {
    key: `fault-oversize-${pad(ordinal)}_front.png`,
    body,
    contentType: 'image/png',
    kind: 'oversize',
    specimenId: card.specimenId,
    side: 'front',
    truth,
  };
}

function pad(n: number): string {
  return String(n).padStart(4, '0');
}

/** Renders fault number `ordinal` (from 1) of `kind` for dataset `seed`. */
export async function renderFault(kind: FaultKind, seed: number, ordinal: number): Promise<SampleObject> {
  const n = pad(ordinal);
  switch (kind) {
    case 'gif': {
      const card = faultCard(seed, kind, ordinal);
      const raw = renderSideRaw(card, 'front');
      const body = await sharp(raw.rgba, { raw: { width: raw.width, height: raw.height, channels: 4 } })
        .gif()
        .toBuffer();
      return {
        key: `fault-gif-${n}.gif`,
        body,
        contentType: 'image/gif',
        kind,
        specimenId: card.specimenId,
        side: 'front',
      };
    }
    case 'truncated': {
      const card = faultCard(seed, kind, ordinal);
      const full = await encodeSide(renderSideRaw(card, 'front'), 'jpeg');
      // Cut mid-scan: the header (and the truth in it) survives, the picture does not.
      const body = Buffer.from(full.subarray(0, Math.floor(full.length / 2)));
      return {
        key: `fault-truncated-${n}_front.jpg`,
        body,
        contentType: 'image/jpeg',
        kind,
        specimenId: card.specimenId,
        side: 'front',
      };
    }
    case 'empty':
      return { key: `fault-empty-${n}_front.jpg`, body: Buffer.alloc(0), contentType: 'image/jpeg', kind };
    case 'oversize':
      return oversize(seed, ordinal);
    case 'not-a-card': {
      const rgba = drawLandscape(createRandom(seed, ordinal, 9));
      const body = await sharp(rgba, { raw: { width: 1000, height: 700, channels: 4 } })
        .removeAlpha()
        .jpeg({ quality: 85 })
        .toBuffer();
      return { key: `fault-not-a-card-${n}_front.jpg`, body, contentType: 'image/jpeg', kind };
    }
    case 'text-as-jpg': {
      const body = Buffer.from(
        'Scan of ID card attached separately.\nThis file is plain text with a .jpg name: a specimen fault, not an image.\n',
        'utf8',
      );
      return { key: `fault-text-as-jpg-${n}_front.jpg`, body, contentType: 'image/jpeg', kind };
    }
  }
}
