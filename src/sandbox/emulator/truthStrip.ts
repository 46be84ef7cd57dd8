import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';
import { CARD_FIELD_NAMES, type MacaoCardFields } from '../../card/fields.js';
import sharp from '../../sharp.js';
import { SPECIMEN_SCHEMA, type SpecimenTruth } from './groundTruth.js';

/**
 * A specimen's ground truth printed in its pixels: a strip of black and white cells along the
 * bottom edge, like the machine-readable zone of a travel document. The XMP packet is the truth's
 * first home, but the worker never copies metadata into an image it re-encodes (a downscaled scan
 * loses EXIF, XMP and ICC alike), so the specimens it downscales (those too large to send as
 * they are: the oversize fault, `bigSide`) carry their truth here too, and the emulator reads it
 * when an image has no XMP. Cells are a fixed fraction of the width ({@link STRIP_COLUMNS} a
 * row), so the strip scales with the image: it reads back after a downscale as long as a cell
 * stays 2 pixels wide or more, through JPEG re-encoding at the worker's quality.
 *
 * Cards of ordinary size do not carry it: the worker sends them as they are, and their look is
 * what the specimen tests compare (conditions, portrait box). One the API calls too large
 * (an injected fault) comes back re-encoded without XMP, and the emulator no longer knows it.
 *
 * Layout, from the bottom row up, left to right, most significant bit first: two marker bytes,
 * the payload's length (2 bytes), the payload (the truth, compacted and deflated), its CRC-32
 * (4 bytes). A dark cell is a 1.
 */

/** Cells in one row of the strip. */
const STRIP_COLUMNS = 256;
/** Rows read at most: 2 KB of payload, far more than a truth takes. */
const MAX_ROWS = 64;
const MARKER = [0x6d, 0x6f] as const;
const FRAME_BYTES = 8;

/** The truth, compacted (field names and the schema are implied) and deflated. */
function payloadOf(t: SpecimenTruth): Buffer {
  const p = t.portrait;
  const tuple = [
    t.specimenId,
    t.side,
    CARD_FIELD_NAMES.map((n) => t.fields[n]),
    t.warnings,
    p ? [p.left, p.top, p.width, p.height] : 0,
    t.width,
    t.height,
  ];
  return deflateRawSync(Buffer.from(JSON.stringify(tuple)), { level: 9 });
}

function truthOf(payload: Buffer): SpecimenTruth | undefined {
  try {
    const [specimenId, side, values, warnings, p, width, height] = JSON.parse(
      inflateRawSync(payload).toString('utf8'),
    ) as [string, 'front' | 'back', string[], number[], number[] | 0, number, number];
    const fields = Object.fromEntries(CARD_FIELD_NAMES.map((n, i) => [n, values[i] ?? ''])) as unknown;
    return {
      schema: SPECIMEN_SCHEMA,
      specimenId,
      side,
      fields: fields as MacaoCardFields,
      warnings,
      ...(Array.isArray(p) ? { portrait: { left: p[0]!, top: p[1]!, width: p[2]!, height: p[3]! } } : {}),
      width,
      height,
    };
  } catch {
    return undefined;
  }
}

/** The strip's bits for a truth: marker, length, payload, CRC-32. */
function frameOf(t: SpecimenTruth): Buffer {
  const payload = payloadOf(t);
  const head = Buffer.from([MARKER[0], MARKER[1], payload.length >> 8, payload.length & 0xff]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(payload) >>> 0);
  return Buffer.concat([head, payload, crc]);
}

/** Pixel rows [top, bottom) of strip row `r` (0 the bottom row) in an image `height` tall. */
function rowSpan(r: number, cell: number, height: number): [number, number] {
  return [height - Math.round((r + 1) * cell), height - Math.round(r * cell)];
}

/**
 * Paints `truth` into the bottom rows of raw pixels (`channels` bytes a pixel, alpha left as it
 * is). Throws when the image is too small to hold it.
 */
export function paintTruthStrip(
  pixels: Buffer,
  image: { width: number; height: number; channels: number },
  truth: SpecimenTruth,
): void {
  const { width, height, channels } = image;
  const frame = frameOf(truth);
  const bits = frame.length * 8;
  const cell = width / STRIP_COLUMNS;
  const rows = Math.ceil(bits / STRIP_COLUMNS);
  if (rows * cell > height / 2) throw new Error(`a ${width} × ${height} image cannot hold its truth strip`);
  for (let i = 0; i < rows * STRIP_COLUMNS; i++) {
    const bit = i < bits ? (frame[i >> 3]! >> (7 - (i & 7))) & 1 : 0;
    const r = Math.floor(i / STRIP_COLUMNS);
    const c = i % STRIP_COLUMNS;
    const [top, bottom] = rowSpan(r, cell, height);
    const left = Math.round(c * cell);
    const right = Math.round((c + 1) * cell);
    const v = bit ? 0 : 255;
    for (let y = top; y < bottom; y++)
      for (let x = left; x < right; x++) {
        const o = (y * width + x) * channels;
        for (let k = 0; k < Math.min(channels, 3); k++) pixels[o + k] = v;
      }
  }
}

/**
 * Reads the truth strip of an encoded image; `undefined` when it has none (or a damaged one: the
 * CRC decides). Decodes only the bottom band of the image.
 */
export async function readTruthStrip(
  bytes: Buffer,
  size: { width: number; height: number },
): Promise<SpecimenTruth | undefined> {
  const { width, height } = size;
  const cell = width / STRIP_COLUMNS;
  if (!(cell >= 2)) return undefined;
  const band = Math.min(height, Math.ceil(MAX_ROWS * cell) + 1);
  const grey = await sharp(bytes)
    .extract({ left: 0, top: height - band, width, height: band })
    .greyscale()
    .raw()
    .toBuffer();
  const bitAt = (i: number): number => {
    const r = Math.floor(i / STRIP_COLUMNS);
    const c = i % STRIP_COLUMNS;
    const x = Math.min(width - 1, Math.floor((c + 0.5) * cell));
    const y = Math.min(band - 1, Math.floor(band - (r + 0.5) * cell));
    return y >= 0 && grey[y * width + x]! < 128 ? 1 : 0;
  };
  const byteAt = (n: number): number => {
    let v = 0;
    for (let b = 0; b < 8; b++) v = (v << 1) | bitAt(n * 8 + b);
    return v;
  };
  if (byteAt(0) !== MARKER[0] || byteAt(1) !== MARKER[1]) return undefined;
  const length = (byteAt(2) << 8) | byteAt(3);
  if ((length + FRAME_BYTES) * 8 > MAX_ROWS * STRIP_COLUMNS) return undefined;
  const payload = Buffer.from(Array.from({ length }, (_, i) => byteAt(4 + i)));
  const crc = Buffer.from(Array.from({ length: 4 }, (_, i) => byteAt(4 + length + i)));
  if (crc.readUInt32BE() !== crc32(payload) >>> 0) return undefined;
  return truthOf(payload);
}
