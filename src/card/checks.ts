import {
  type CheckFinding,
  MACAO_SYMBOLS,
  type MacaoCardFields,
  parseCardDate,
  RESIDENT_TYPES,
} from './fields.js';
import { matchesTelecode, telecodesOf } from './telecode.js';

/**
 * Our own checks on a recognized card. They are flags for a human reviewer, not errors: a card
 * with findings is still `recognized`. Each finding has a short stable code (reports and
 * filters rely on it) and a message that names the field but never repeats its value, so a
 * finding can be logged or exported without leaking card data.
 */

/** Options of {@link checkCard}. */
export interface CheckOptions {
  /** "Today" as `YYYY-MM-DD`, for expiry and future dates; default the current UTC date. */
  today?: string;
}

const MASK = /\*/;

function finding(code: string, message: string): CheckFinding {
  return { code, message };
}

/**
 * ID number shape `XNNNNNN(Y)` (older cards print `X/NNNNNN/Y`), first digit 1, 5 or 7. The last
 * digit is a check digit, but no public algorithm for it exists (docs/macao-id-card.md): we check the shape
 * only, never the digit.
 */
export function checkIdNumber(id: string | undefined): CheckFinding[] {
  if (!id) return [finding('id-missing', 'ID number is missing')];
  if (MASK.test(id)) return [finding('id-masked', 'ID number is masked by the provider')];
  const m = /^(\d)(\d{6})\((\d)\)$/.exec(id) ?? /^(\d)\/(\d{6})\/(\d)$/.exec(id);
  if (!m) return [finding('id-shape', 'ID number is not of the form XNNNNNN(Y)')];
  if (!['1', '5', '7'].includes(m[1]!))
    return [finding('id-first-digit', 'ID number does not start with 1, 5 or 7')];
  return [];
}

const PERMANENT_VALIDITY = /^-+$/;

function yearsBetween(fromIso: string, toIso: string): number {
  const [fy, fm, fd] = fromIso.split('-').map(Number) as [number, number, number];
  const [ty, tm, td] = toIso.split('-').map(Number) as [number, number, number];
  return ty - fy - (tm < fm || (tm === fm && td < fd) ? 1 : 0);
}

/**
 * Dates: each is a real `DD-MM-YYYY` date; birth < first issue <= current issue < validity;
 * validity `------` or absent only on a card made permanent at 60 or over (docs/macao-id-card.md);
 * no date but validity in the future; validity at most 10 years after the current issue; and
 * whether the card has expired.
 */
export function checkDates(f: Partial<MacaoCardFields>, today: string): CheckFinding[] {
  const out: CheckFinding[] = [];
  const parse = (name: 'Birthday' | 'FirstIssueDate' | 'CurrentIssueDate'): string | undefined => {
    const raw = f[name];
    if (!raw) {
      out.push(finding('date-missing', `${name} is missing`));
      return undefined;
    }
    if (MASK.test(raw)) {
      out.push(finding('date-masked', `${name} is masked by the provider`));
      return undefined;
    }
    const iso = parseCardDate(raw);
    if (!iso) out.push(finding('date-invalid', `${name} is not a real DD-MM-YYYY date`));
    return iso;
  };
  const birth = parse('Birthday');
  const first = parse('FirstIssueDate');
  const current = parse('CurrentIssueDate');
  const rawValidity = f.ValidityPeriod?.trim() ?? '';
  const permanent = rawValidity === '' || PERMANENT_VALIDITY.test(rawValidity);
  const validity = permanent ? undefined : parseCardDate(rawValidity);
  if (!permanent && !validity) {
    out.push(
      MASK.test(rawValidity)
        ? finding('date-masked', 'ValidityPeriod is masked by the provider')
        : finding('date-invalid', 'ValidityPeriod is not a real DD-MM-YYYY date'),
    );
  }
  for (const [name, iso] of [
    ['Birthday', birth],
    ['FirstIssueDate', first],
    ['CurrentIssueDate', current],
  ] as const) {
    if (iso && iso > today) out.push(finding('date-in-future', `${name} is in the future`));
  }
  if (birth && first && !(birth < first))
    out.push(finding('date-order', 'FirstIssueDate is not after Birthday'));
  if (first && current && !(first <= current)) {
    out.push(finding('date-order', 'CurrentIssueDate is before FirstIssueDate'));
  }
  if (current && validity && !(current < validity)) {
    out.push(finding('date-order', 'ValidityPeriod is not after CurrentIssueDate'));
  }
  if (current && validity && yearsBetween(current, validity) > 10) {
    out.push(finding('validity-too-long', 'ValidityPeriod is more than 10 years after CurrentIssueDate'));
  }
  if (permanent && birth && current && yearsBetween(birth, current) < 60) {
    out.push(
      finding(
        'validity-missing',
        'ValidityPeriod is absent, but only holders aged 60 or over at issue get a permanent card',
      ),
    );
  }
  if (validity && validity < today) out.push(finding('card-expired', 'the card has expired'));
  return out;
}

/** Sex, symbol, resident type and height. */
export function checkAttributes(f: Partial<MacaoCardFields>): CheckFinding[] {
  const out: CheckFinding[] = [];
  if (f.Sex !== 'M' && f.Sex !== 'F') out.push(finding('sex-invalid', 'Sex is not M or F'));
  if (!f.Symbol || !(f.Symbol in MACAO_SYMBOLS)) {
    out.push(
      finding(
        'symbol-unknown',
        `Symbol is not a Macao document symbol (${Object.keys(MACAO_SYMBOLS).join(', ')})`,
      ),
    );
  }
  // The provider's own example answer has no ResidentType: an absent one is no finding.
  if (f.ResidentType && !RESIDENT_TYPES.includes(f.ResidentType as (typeof RESIDENT_TYPES)[number])) {
    out.push(finding('resident-type-unknown', 'ResidentType is neither of the two documented values'));
  }
  const h = f.Height && /^\d(\.\d{1,2})?$/.test(f.Height) ? Number(f.Height) : Number.NaN;
  if (!(h >= 0.5 && h <= 2.5))
    out.push(finding('height-implausible', 'Height is not a plausible height in metres'));
  return out;
}

const HAN = /\p{Script=Han}/u;

/**
 * Telecodes: 4 digits per Chinese character, each matching its character in the Taiwan or the
 * mainland table (Hong Kong and Macao mostly follow Taiwan's). Masked values are reported as
 * masked, not as mismatches.
 */
export function checkTelecode(
  label: 'LastName' | 'FirstName',
  chinese: string | undefined,
  code: string | undefined,
): CheckFinding[] {
  const chars = [...(chinese ?? '').replace(/\s/g, '')];
  const codeField = `${label}Code`;
  if (chars.length === 0 && !code) return [];
  if (MASK.test(chinese ?? '') || MASK.test(code ?? '')) {
    return [finding('telecode-masked', `Cn${label} or ${codeField} is masked by the provider`)];
  }
  if (chars.length === 0)
    return [finding('telecode-without-name', `${codeField} is present without Cn${label}`)];
  if (!code) return [finding('telecode-missing', `${codeField} is missing for Cn${label}`)];
  if (!chars.every((c) => HAN.test(c)))
    return [finding('name-not-chinese', `Cn${label} has non-Chinese characters`)];
  if (!/^\d+$/.test(code) || code.length !== chars.length * 4) {
    return [finding('telecode-length', `${codeField} is not 4 digits per character of Cn${label}`)];
  }
  const out: CheckFinding[] = [];
  chars.forEach((ch, i) => {
    const part = code.slice(i * 4, i * 4 + 4);
    if (!telecodesOf(ch)) {
      out.push(
        finding('telecode-unknown-char', `character ${i + 1} of Cn${label} is not in the telecode table`),
      );
    } else if (!matchesTelecode(ch, part)) {
      out.push(finding('telecode-mismatch', `${codeField} does not match character ${i + 1} of Cn${label}`));
    }
  });
  return out;
}

/** Every check over a recognized card; an empty list means nothing to flag. */
export function checkCard(f: Partial<MacaoCardFields>, opts: CheckOptions = {}): CheckFinding[] {
  const today = opts.today ?? new Date().toISOString().slice(0, 10);
  return [
    ...checkIdNumber(f.ID),
    ...checkDates(f, today),
    ...checkAttributes(f),
    ...checkTelecode('LastName', f.CnLastName, f.LastNameCode),
    ...checkTelecode('FirstName', f.CnFirstName, f.FirstNameCode),
  ];
}
