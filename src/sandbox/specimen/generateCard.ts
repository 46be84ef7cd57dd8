import { type MacaoCardFields, RESIDENT_TYPES } from '../../card/fields.js';
import { encodeTelecode } from '../../card/telecode.js';
import {
  GIVEN_FEMALE,
  GIVEN_MALE,
  PORTUGUESE_GIVEN,
  PORTUGUESE_SURNAMES,
  SURNAMES,
  WESTERN_GIVEN,
} from './names.js';
import { createRandom, type Random } from './random.js';

/** A visible condition of the image that the API reports as a warning. */
export type CardCondition = 'photocopy' | 'blur' | 'glare' | 'cover';

/** The `WarnCardInfos` code each condition warrants (FACTS.md §3). */
export const CONDITION_WARNINGS: Readonly<Record<CardCondition, number>> = {
  cover: -9101,
  photocopy: -9102,
  glare: -9107,
  blur: -9108,
};

/** How the drawn portrait looks; seeded like the rest so the pixels are reproducible too. */
export interface PortraitLook {
  skin: string;
  hair: string;
  hairStyle: 'short' | 'long' | 'bun' | 'parted';
  shirt: string;
  backdrop: string;
  glasses: boolean;
  /** Face width relative to the portrait frame, 0.40 to 0.50. */
  faceWidth: number;
}

/** One specimen card: its printed data and how its image is to be spoiled, if at all. */
export interface SpecimenCard {
  /** `s<seed>-<index, 6 digits>`, e.g. `s42-000017`. */
  specimenId: string;
  seed: number;
  index: number;
  fields: MacaoCardFields;
  /** Undefined for a clean card (most of them). */
  condition?: CardCondition;
  /** The warnings the condition warrants; empty for a clean card. */
  warnings: number[];
  look: PortraitLook;
}

/** Options of {@link generateCard}. */
export interface GenerateCardOptions {
  /** "Today" for the dataset, `YYYY-MM-DD`: every date is relative to it; default {@link DEFAULT_REFERENCE_DATE}. */
  referenceDate?: string;
  /** Share of cards with a visible condition, 0 to 1; default 0.15. */
  conditionRate?: number;
}

/** Fixed so that a dataset depends on (seed, index) only, not on the day it was rendered. */
export const DEFAULT_REFERENCE_DATE = '2026-01-01';

const DAY_MS = 86_400_000;
// Cards stay valid at least this long after the reference date, so a dataset does not fill up
// with `card-expired` findings as soon as the calendar moves on.
const MIN_REMAINING_DAYS = 540;

function addYears(t: number, years: number): number {
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear() + years, d.getUTCMonth(), d.getUTCDate());
}

/** Whole years from `from` to `to` (an age). */
function yearsBetween(from: number, to: number): number {
  const a = new Date(from);
  const b = new Date(to);
  const before =
    b.getUTCMonth() < a.getUTCMonth() ||
    (b.getUTCMonth() === a.getUTCMonth() && b.getUTCDate() < a.getUTCDate());
  return b.getUTCFullYear() - a.getUTCFullYear() - (before ? 1 : 0);
}

/** `DD-MM-YYYY`, the card's and the API's format. */
export function formatCardDate(t: number): string {
  const d = new Date(t);
  const dd = String(d.getUTCDate()).padStart(2, '0');
  const mm = String(d.getUTCMonth() + 1).padStart(2, '0');
  return `${dd}-${mm}-${d.getUTCFullYear()}`;
}

// An issue on 29 February would make "ten years later" ambiguous; real offices issue any day,
// but our checks compare anniversaries, so keep the data unambiguous.
function notLeapDay(t: number): number {
  const d = new Date(t);
  return d.getUTCMonth() === 1 && d.getUTCDate() === 29 ? t - DAY_MS : t;
}

function parseReference(iso: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  const t = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : Number.NaN;
  if (Number.isNaN(t)) throw new Error(`\`referenceDate\` must be YYYY-MM-DD, got \`${iso}\``);
  return t;
}

interface Name {
  cnLast: string;
  enLast: string;
  cnFirst: string;
  enFirst: string;
}

function makeName(r: Random, sex: 'M' | 'F'): Name {
  if (r.chance(0.04)) {
    return {
      cnLast: '',
      enLast: r.pick(PORTUGUESE_SURNAMES),
      cnFirst: '',
      enFirst: r.pick(PORTUGUESE_GIVEN[sex]),
    };
  }
  const [cnLast, enLast] = r.weighted(SURNAMES.map(([cn, en, w]) => [[cn, en] as const, w] as const));
  const pool = r.chance(0.9) ? (sex === 'M' ? GIVEN_MALE : GIVEN_FEMALE) : [...GIVEN_MALE, ...GIVEN_FEMALE];
  const given = Array.from({ length: r.chance(0.8) ? 2 : 1 }, () => r.pick(pool));
  const roman = given.map(([, en]) => en);
  if (r.chance(0.06)) roman.unshift(r.pick(WESTERN_GIVEN[sex]));
  return { cnLast, enLast, cnFirst: given.map(([cn]) => cn).join(''), enFirst: roman.join(' ') };
}

function makeHeight(r: Random, sex: 'M' | 'F', age: number): string {
  const adult = sex === 'M' ? 1.71 : 1.59;
  // Sum of uniforms: roughly normal, no tails beyond ±0.12 m.
  const spread = (r.next() + r.next() + r.next() - 1.5) * 0.08;
  const h = age >= 18 ? adult + spread : Math.min(adult, 1.1 + (age - 5) * 0.055) + spread / 2;
  return h.toFixed(2);
}

function makeLook(r: Random, sex: 'M' | 'F', age: number): PortraitLook {
  const dark = ['#1b1511', '#2b1f17', '#3b2a1e', '#4a3a2c'];
  return {
    skin: r.pick(['#f1c9a5', '#e8b98f', '#d9a77c', '#c98e62', '#f5d6bc']),
    hair: age >= 50 && r.chance((age - 40) / 40) ? r.pick(['#8a8580', '#b9b4ae', '#d0ccc6']) : r.pick(dark),
    hairStyle:
      sex === 'F' ? r.pick(['long', 'bun', 'parted'] as const) : r.pick(['short', 'parted'] as const),
    shirt: r.pick(['#2c3e66', '#5a6b7d', '#7a2e3b', '#2f5d50', '#d9d9d9', '#333333', '#6d5a8c']),
    backdrop: r.pick(['#f4f4f2', '#e9eef5', '#eef1f6']),
    glasses: r.chance(0.2),
    faceWidth: r.range(0.4, 0.5),
  };
}

/**
 * The card data of item `index` of dataset `seed`: plausible, self-consistent, reproducible.
 * Dates: birth < first issue <= current issue < validity; validity 10 years from the current
 * issue, 5 when the holder was under 18 then or the card is non-permanent, `------` for a
 * permanent resident aged 60 or over at issue (FACTS.md §4). Telecodes are
 * {@link encodeTelecode} of the Chinese names.
 */
export function generateCard(seed: number, index: number, opts: GenerateCardOptions = {}): SpecimenCard {
  const ref = parseReference(opts.referenceDate ?? DEFAULT_REFERENCE_DATE);
  const conditionRate = opts.conditionRate ?? 0.15;
  if (!(conditionRate >= 0 && conditionRate <= 1)) {
    throw new Error(`\`conditionRate\` must be a number from 0 to 1, got \`${conditionRate}\``);
  }
  // Separate streams: tuning one aspect (say the condition rate) leaves the others unchanged.
  const r = createRandom(seed, index, 1);
  const sex = r.chance(0.5) ? 'M' : 'F';
  const permanent = r.chance(0.88);
  const ageNow = r.int(
    ...r.weighted<[number, number]>([
      [[5, 17], 15],
      [[18, 39], 35],
      [[40, 59], 30],
      [[60, 88], 20],
    ]),
  );
  const birth = addYears(ref, -ageNow) - r.int(1, 364) * DAY_MS;

  const spanFor = (ageAtIssue: number): number => (!permanent || ageAtIssue < 18 ? 5 : 10);
  let current = ref - r.int(0, spanFor(ageNow) * 365 - MIN_REMAINING_DAYS) * DAY_MS;
  if (spanFor(yearsBetween(birth, current)) === 5) {
    current = ref - r.int(0, 5 * 365 - MIN_REMAINING_DAYS) * DAY_MS;
  }
  // Cards are issued from age 5; ageNow >= 5 keeps this at or before the reference date.
  current = notLeapDay(Math.max(current, addYears(birth, 5)));
  const ageAtIssue = yearsBetween(birth, current);
  const validity =
    permanent && ageAtIssue >= 60 ? '------' : formatCardDate(addYears(current, spanFor(ageAtIssue)));

  const symbol = permanent
    ? r.weighted([
        ['A', 60],
        ['C', 25],
        ['B', 5],
        ['D', 3],
        ['N', 2],
        ['S', 5],
      ] as const)
    : r.weighted([
        ['C', 60],
        ['D', 30],
        ['B', 10],
      ] as const);
  // Macao-born holders got their first card at five or soon after; others when they settled,
  // and a non-permanent resident's first card is recent.
  const bornHere = symbol === 'A' || symbol === 'S';
  const earliest = Math.max(
    addYears(birth, 5),
    bornHere
      ? addYears(birth, 5) + r.int(0, 3 * 365) * DAY_MS
      : permanent
        ? addYears(birth, r.int(5, 35))
        : current - r.int(0, 4 * 365) * DAY_MS,
  );
  const first =
    earliest >= current || (!bornHere && r.chance(0.3))
      ? current
      : bornHere
        ? earliest
        : r.int(earliest / DAY_MS, current / DAY_MS) * DAY_MS;

  const birthYear = new Date(birth).getUTCFullYear();
  const lead = birthYear < 1970 && r.chance(0.12) ? '7' : birthYear < 1978 && r.chance(0.3) ? '5' : '1';
  const id = `${lead}${String(r.int(0, 999_999)).padStart(6, '0')}(${r.int(0, 9)})`;

  const name = makeName(r, sex);
  const lastCode = encodeTelecode(name.cnLast);
  const firstCode = encodeTelecode(name.cnFirst);
  if (lastCode === undefined || firstCode === undefined) {
    throw new Error(`specimen name ${name.cnLast}${name.cnFirst} has a character without a telecode`);
  }
  const fields: MacaoCardFields = {
    CnLastName: name.cnLast,
    EnLastName: name.enLast,
    LastNameCode: lastCode,
    CnFirstName: name.cnFirst,
    EnFirstName: name.enFirst,
    FirstNameCode: firstCode,
    ID: id,
    Birthday: formatCardDate(birth),
    Sex: sex,
    FirstIssueDate: formatCardDate(first),
    CurrentIssueDate: formatCardDate(current),
    ValidityPeriod: validity,
    Symbol: symbol,
    Height: makeHeight(r, sex, ageAtIssue),
    ResidentType: permanent ? RESIDENT_TYPES[0] : RESIDENT_TYPES[1],
  };

  const rc = createRandom(seed, index, 2);
  const condition = rc.chance(conditionRate)
    ? rc.pick(['photocopy', 'blur', 'glare', 'cover'] as const)
    : undefined;
  const card: SpecimenCard = {
    specimenId: `s${seed}-${String(index).padStart(6, '0')}`,
    seed,
    index,
    fields,
    warnings: condition ? [CONDITION_WARNINGS[condition]] : [],
    look: makeLook(createRandom(seed, index, 3), sex, ageAtIssue),
  };
  if (condition) card.condition = condition;
  return card;
}
