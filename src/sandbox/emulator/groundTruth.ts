import type { MacaoCardFields } from '../../card/fields.js';
import sharp from '../../sharp.js';

/**
 * Ground truth of a specimen card, embedded in the image itself as an XMP packet. The emulator
 * "recognizes" a specimen by reading this back: it is a test double, not OCR, and says so.
 */
export interface SpecimenTruth {
  /** Format marker; anything else is not one of our specimens. */
  schema: typeof SPECIMEN_SCHEMA;
  /** Stable id of the card within its dataset (seed and index), e.g. `s42-000017`. */
  specimenId: string;
  side: 'front' | 'back';
  /** The printed fields (front side; the back repeats the ID number only). */
  fields: MacaoCardFields;
  /** `WarnCardInfos` codes that the visible conditions of the image warrant (photocopy, blur, glare, cover). */
  warnings: number[];
  /** Portrait area in pixels of the image as rendered (front only). */
  portrait?: { left: number; top: number; width: number; height: number };
  /** Rendered size, so the portrait box can be scaled when an image was downscaled. */
  width: number;
  height: number;
}

export const SPECIMEN_SCHEMA = 'macao-ocr-specimen/1';
const XMP_NS = 'https://github.com/macao-id-ocr-batch/specimen/1.0/';

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function unescapeXml(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
}

/** The XMP packet that carries a specimen's truth. */
export function truthToXmp(truth: SpecimenTruth): string {
  return (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">' +
    `<rdf:Description rdf:about="" xmlns:mo="${XMP_NS}"><mo:truth>${escapeXml(JSON.stringify(truth))}</mo:truth>` +
    '</rdf:Description></rdf:RDF></x:xmpmeta>'
  );
}

/** Reads a specimen's truth from an XMP packet; `undefined` when the packet is not ours or is damaged. */
export function truthFromXmp(xmp: string | undefined): SpecimenTruth | undefined {
  if (!xmp) return undefined;
  const m = /<mo:truth>([\s\S]*?)<\/mo:truth>/.exec(xmp);
  if (!m?.[1]) return undefined;
  try {
    const parsed = JSON.parse(unescapeXml(m[1])) as Partial<SpecimenTruth>;
    if (
      parsed.schema !== SPECIMEN_SCHEMA ||
      !parsed.fields ||
      (parsed.side !== 'front' && parsed.side !== 'back')
    ) {
      return undefined;
    }
    return parsed as SpecimenTruth;
  } catch {
    return undefined;
  }
}

/** Reads the truth embedded in an encoded image (PNG or JPEG). Throws what sharp throws for undecodable bytes. */
export async function readTruth(image: Buffer): Promise<SpecimenTruth | undefined> {
  const meta = await sharp(image).metadata();
  return truthFromXmp(meta.xmpAsString);
}
