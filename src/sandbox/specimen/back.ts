import type { SKRSContext2D } from '@napi-rs/canvas';
import type { MacaoCardFields } from '../../card/fields.js';
import {
  CARD_HEIGHT,
  CARD_WIDTH,
  drawCardBody,
  drawLabel,
  drawSpecimenMark,
  drawTitle,
  INK,
  INK_SOFT,
} from './draw.js';
import { FONTS } from './fonts.js';
import type { SpecimenCard } from './generateCard.js';
import type { Random } from './random.js';

/** ICAO 9303 check digit: weights 7, 3, 1; digits as themselves, A-Z as 10-35, `<` as 0. */
function checkDigit(s: string): string {
  let sum = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    const v = c >= '0' && c <= '9' ? Number(c) : c >= 'A' && c <= 'Z' ? c.charCodeAt(0) - 55 : 0;
    sum += v * [7, 3, 1][i % 3]!;
  }
  return String(sum % 10);
}

function mrzText(s: string): string {
  // MRZ is A-Z, 0-9 and `<` only: strip Portuguese accents, spaces become fillers.
  return s
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, '<');
}

function yymmdd(cardDate: string): string {
  const m = /^(\d{2})-(\d{2})-\d{2}(\d{2})$/.exec(cardDate);
  return m ? `${m[3]}${m[2]}${m[1]}` : '<<<<<<';
}

/**
 * Three 30-character lines shaped like an ICAO TD1 machine-readable zone. "Like": the Macao card's
 * own layout is not public, so this follows the ICAO pattern with the card's fields.
 */
export function machineReadableZone(f: MacaoCardFields): [string, string, string] {
  const doc = f.ID.replace(/\D/g, '').padEnd(9, '<').slice(0, 9);
  const line1 = `I<MAC${doc}${checkDigit(doc)}`.padEnd(30, '<');
  const birth = yymmdd(f.Birthday);
  const expiry = yymmdd(f.ValidityPeriod);
  const head =
    `${birth}${checkDigit(birth)}${f.Sex === 'F' ? 'F' : 'M'}${expiry}${checkDigit(expiry)}MAC`.padEnd(
      29,
      '<',
    );
  const line2 = head + checkDigit(line1.slice(5) + head.slice(0, 7) + head.slice(8, 15));
  const line3 = `${mrzText(f.EnLastName)}<<${mrzText(f.EnFirstName)}`.padEnd(30, '<').slice(0, 30);
  return [line1, line2, line3];
}

const NOTICE: readonly (readonly [string, string, string])[] = [
  [
    '本證屬澳門特別行政區政府所有。',
    'Este bilhete é propriedade do Governo da RAEM.',
    'This card is the property of the Government of the Macao SAR.',
  ],
  [
    '拾獲者請交回身份證明局。',
    'Quem o encontrar deve entregá-lo aos Serviços de Identificação.',
    'If found, please return it to the Identification Services Bureau.',
  ],
];

/** Draws the back: a plainer design with the notice, the ID number, a barcode, the MRZ and the SPECIMEN mark. */
export function drawBack(ctx: SKRSContext2D, card: SpecimenCard, r: Random): void {
  const f = card.fields;
  drawCardBody(ctx, r, ['#eef2f6', '#f4f5f2', '#f1ecf0']);
  ctx.save();
  drawTitle(
    ctx,
    ['澳門特別行政區', 'REGIÃO ADMINISTRATIVA ESPECIAL DE MACAU', 'MACAO SPECIAL ADMINISTRATIVE REGION'],
    50,
    [80, 106, 126],
    [32, 15, 14],
  );

  let y = 178;
  for (const [zh, pt, en] of NOTICE) {
    ctx.fillStyle = INK;
    ctx.font = `19px ${FONTS.cjk}`;
    ctx.fillText(zh, 50, y);
    ctx.fillStyle = INK_SOFT;
    ctx.font = `14px ${FONTS.sans}`;
    ctx.fillText(pt, 50, y + 22);
    ctx.fillText(en, 50, y + 41);
    y += 82;
  }

  drawLabel(ctx, 660, 70, '身份證編號', 'N.º / ID No.');
  ctx.fillStyle = INK;
  ctx.font = `bold 36px ${FONTS.mono}`;
  ctx.fillText(f.ID, 660, 112);

  // A seeded barcode: it only has to look like one.
  ctx.fillStyle = '#222';
  for (let x = 660; x < 950; ) {
    const w = r.int(1, 4);
    if (r.chance(0.55)) ctx.fillRect(x, 150, w, 70);
    x += w + r.int(1, 3);
  }

  ctx.fillStyle = 'rgba(255, 255, 255, 0.85)';
  ctx.fillRect(0, CARD_HEIGHT - 200, CARD_WIDTH, 150);
  ctx.fillStyle = '#111';
  ctx.font = `31px ${FONTS.mono}`;
  machineReadableZone(f).forEach((line, i) => {
    ctx.fillText(line, (CARD_WIDTH - ctx.measureText(line).width) / 2, CARD_HEIGHT - 160 + i * 42);
  });
  ctx.restore();
  drawSpecimenMark(ctx, CARD_WIDTH * 0.42, CARD_HEIGHT * 0.5);
}
