import type { SKRSContext2D } from '@napi-rs/canvas';
import { RESIDENT_TYPES } from '../../card/fields.js';
import {
  ACCENT,
  CARD_HEIGHT,
  CARD_WIDTH,
  drawCardBody,
  drawField,
  drawLabel,
  drawLotus,
  drawSpecimenMark,
  drawTitle,
  fitText,
  INK,
  INK_SOFT,
} from './draw.js';
import { FONTS } from './fonts.js';
import type { SpecimenCard } from './generateCard.js';
import { type Box, drawPortrait } from './portrait.js';
import type { Random } from './random.js';

/** Where the portrait sits on the front; the truth's portrait box is this. */
export const PORTRAIT_BOX: Box = { left: 46, top: 156, width: 244, height: 300 };

/** Telecodes as printed: groups of four digits, one per character. */
export function spacedTelecode(code: string): string {
  return code.replace(/(\d{4})(?=\d)/g, '$1 ');
}

function drawHeader(ctx: SKRSContext2D, permanent: boolean): void {
  ctx.save();
  ctx.fillStyle = 'rgba(29, 91, 143, 0.10)';
  ctx.fillRect(0, 24, CARD_WIDTH, 108);
  drawLotus(ctx, 86, 110, 62, ACCENT);
  ctx.beginPath();
  ctx.arc(86, 82, 44, 0, Math.PI * 2);
  ctx.strokeStyle = ACCENT;
  ctx.lineWidth = 2.5;
  ctx.stroke();
  drawTitle(
    ctx,
    ['澳門特別行政區居民身份證', 'BILHETE DE IDENTIDADE DE RESIDENTE', 'MACAO SAR RESIDENT IDENTITY CARD'],
    150,
    [72, 98, 120],
    [38, 17, 15],
  );

  const [zh, pt, en] = permanent
    ? ['永久性居民', 'RESIDENTE PERMANENTE', 'PERMANENT RESIDENT']
    : ['非永久性居民', 'RESIDENTE NÃO PERMANENTE', 'NON-PERMANENT RESIDENT'];
  ctx.textAlign = 'right';
  ctx.fillStyle = permanent ? '#8a1c2b' : '#6b4e00';
  ctx.font = `bold 24px ${FONTS.cjk}`;
  ctx.fillText(zh, CARD_WIDTH - 44, 70);
  ctx.font = `bold 12px ${FONTS.sans}`;
  ctx.fillText(pt, CARD_WIDTH - 44, 94);
  ctx.fillText(en, CARD_WIDTH - 44, 112);
  ctx.restore();
}

/**
 * Draws the photo side: header, portrait, the fields with bilingual labels, a ghost portrait and
 * the SPECIMEN mark. Returns the portrait box as drawn.
 */
export function drawFront(ctx: SKRSContext2D, card: SpecimenCard, r: Random): Box {
  const f = card.fields;
  const permanent = f.ResidentType === RESIDENT_TYPES[0];
  drawCardBody(ctx, r, permanent ? ['#e4eef7', '#eef3f0', '#f5e6ee'] : ['#eef0e0', '#f3f1e6', '#f6e9dc']);
  drawHeader(ctx, permanent);
  drawPortrait(ctx, PORTRAIT_BOX, card.look);

  const x = 330;
  drawLabel(ctx, x, 172, '姓名', 'Nome / Name');
  ctx.fillStyle = INK;
  ctx.textBaseline = 'alphabetic';
  const cnName = f.CnLastName || f.CnFirstName ? `${f.CnLastName} ${f.CnFirstName}` : '';
  if (cnName) {
    ctx.font = `bold 42px ${FONTS.cjk}`;
    ctx.fillText(cnName, x, 220);
    const codes = [f.LastNameCode, f.FirstNameCode].filter(Boolean).map(spacedTelecode).join('  ');
    ctx.font = `19px ${FONTS.mono}`;
    ctx.fillStyle = INK_SOFT;
    ctx.fillText(codes, x + 2, 248);
  }
  ctx.fillStyle = INK;
  const enName = `${f.EnLastName}, ${f.EnFirstName}`;
  fitText(ctx, enName, (px) => `bold ${px}px ${FONTS.sans}`, 26, CARD_WIDTH - x - 44);
  ctx.fillText(enName, x, cnName ? 284 : 220);

  const cols = [x, x + 236, x + 372, x + 498];
  drawField(ctx, cols[0]!, 318, ['出生日期', 'Data de nascimento / Date of birth'], f.Birthday, {
    maxWidth: 210,
  });
  drawField(ctx, cols[1]!, 318, ['性別', 'Sexo / Sex'], f.Sex, { maxWidth: 110 });
  drawField(ctx, cols[2]!, 318, ['身高', 'Altura / Height'], f.Height, { maxWidth: 110 });
  drawField(ctx, cols[3]!, 318, ['標記', 'Símbolo / Symbol'], f.Symbol, { maxWidth: 110 });
  drawField(ctx, cols[0]!, 400, ['首次發證日期', 'Data da 1.ª emissão / First issue'], f.FirstIssueDate, {
    maxWidth: 210,
  });
  drawField(ctx, cols[1]!, 400, ['簽發日期', 'Data de emissão / Date of issue'], f.CurrentIssueDate, {
    maxWidth: 210,
  });
  drawField(ctx, cols[3]! - 20, 400, ['有效期至', 'Válido até / Valid until'], f.ValidityPeriod, {
    maxWidth: 170,
  });

  // The number under the photo, large, as on the real card.
  drawLabel(ctx, PORTRAIT_BOX.left, 492, '身份證編號', 'N.º / ID No.');
  ctx.fillStyle = INK;
  ctx.font = `bold 38px ${FONTS.mono}`;
  ctx.fillText(f.ID, PORTRAIT_BOX.left, 534);

  // Security-style microprint along the bottom edge.
  ctx.fillStyle = 'rgba(29, 91, 143, 0.45)';
  ctx.font = `8px ${FONTS.sans}`;
  ctx.fillText('RAEM · MACAU · 澳門 · MACAO SAR · '.repeat(12), 40, 568);

  // A ghost portrait, as real cards repeat the photo faintly.
  drawPortrait(ctx, { left: 770, top: 450, width: 80, height: 98 }, card.look, 0.28);
  drawSpecimenMark(ctx, CARD_WIDTH * 0.56, CARD_HEIGHT * 0.58);
  return { ...PORTRAIT_BOX };
}
