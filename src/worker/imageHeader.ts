/**
 * An image's real format and pixel size, from its first bytes alone: the magic bytes, then the
 * PNG's IHDR chunk or the JPEG's frame header (SOFn). Nothing is decoded, so a decompression bomb
 * (a small file that decodes to gigabytes) costs a few kilobytes to recognise.
 */

/** What the header says. */
export interface ImageHeader {
  format: 'png' | 'jpeg';
  width: number;
  height: number;
}

/** The outcome of reading a header: found, not an image we take, or (JPEG) more bytes needed from `offset`. */
export type HeaderReading = { header: ImageHeader } | { notPngOrJpeg: string } | { needBytesFrom: number };

/**
 * How far into a JPEG its frame header may start, in bytes (1 MiB): past EXIF, ICC, XMP and
 * thumbnails, which a camera or a scanner keeps to a few segments of at most 64 KB each. Further
 * in, the file is refused in every mode alike: in `url` mode finding it would take read after read.
 */
export const MAX_HEADER_OFFSET = 1024 * 1024;

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The format by magic bytes: PNG's 8-byte signature, JPEG's `FF D8 FF`. */
export function sniffFormat(head: Buffer): 'png' | 'jpeg' | undefined {
  if (head.length >= 8 && head.subarray(0, 8).equals(PNG_SIGNATURE)) return 'png';
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  return undefined;
}

/** A PNG's size: the IHDR chunk, which the format requires first, right after the signature. */
function readPng(head: Buffer): HeaderReading {
  if (head.length < 24 || head.toString('latin1', 12, 16) !== 'IHDR')
    return { notPngOrJpeg: 'a PNG signature without an IHDR chunk after it' };
  return { header: { format: 'png', width: head.readUInt32BE(16), height: head.readUInt32BE(20) } };
}

/** SOF0-SOF15 carry the frame's size; C4 (DHT), C8 (JPG) and CC (DAC) share the range and do not. */
function isFrameMarker(m: number): boolean {
  return m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
}

/** Markers that stand alone, without a length: TEM and RST0-RST7 (SOI is consumed first). */
function standsAlone(m: number): boolean {
  return m === 0x01 || (m >= 0xd0 && m <= 0xd7);
}

/**
 * Walks a JPEG's segments from `from` (an absolute offset into the file, 2 to start after SOI)
 * over `bytes`, which hold the file from absolute offset `base`. Segment bodies are skipped by
 * their length, so a following read can start at the next marker and skip the bytes between.
 */
export function readJpeg(bytes: Buffer, base: number, from: number): HeaderReading {
  let pos = from;
  for (;;) {
    if (pos > MAX_HEADER_OFFSET)
      return { notPngOrJpeg: `a JPEG without a frame header in its first ${MAX_HEADER_OFFSET} bytes` };
    const i = pos - base;
    // A marker and its length (4 bytes), or a frame header up to its width (9 bytes).
    if (i < 0 || i + 4 > bytes.length) return { needBytesFrom: pos };
    if (bytes[i] !== 0xff) return { notPngOrJpeg: 'a JPEG whose segments do not follow one another' };
    const marker = bytes[i + 1]!;
    if (marker === 0xff) {
      pos += 1; // a fill byte before the marker
      continue;
    }
    if (standsAlone(marker)) {
      pos += 2;
      continue;
    }
    if (marker === 0xda || marker === 0xd9 || marker === 0xd8)
      return { notPngOrJpeg: 'a JPEG without a frame header before its image data' };
    if (isFrameMarker(marker)) {
      if (i + 9 > bytes.length) return { needBytesFrom: pos };
      return {
        header: { format: 'jpeg', height: bytes.readUInt16BE(i + 5), width: bytes.readUInt16BE(i + 7) },
      };
    }
    const length = bytes.readUInt16BE(i + 2);
    if (length < 2) return { notPngOrJpeg: 'a JPEG segment with an impossible length' };
    pos += 2 + length;
  }
}

/**
 * Reads the header from the file's first bytes (`head`, from offset 0). A JPEG whose frame header
 * lies beyond them answers `needBytesFrom`; the caller reads on from there and calls
 * {@link readJpeg} with the new bytes.
 */
export function readHeader(head: Buffer): HeaderReading {
  const format = sniffFormat(head);
  if (format === 'png') return readPng(head);
  if (format === 'jpeg') return readJpeg(head, 0, 2);
  return { notPngOrJpeg: head.length === 0 ? 'an empty file' : 'neither the PNG nor the JPEG signature' };
}
