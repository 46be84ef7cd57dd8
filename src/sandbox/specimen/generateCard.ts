import { type MacaoCardFields, RESIDENT_TYPES } from '../../card/fields.js';
import { makeHeight, makeLook, makeName, nameFields } from './holder.js';
import { createRandom, type Random } from './random.js';

/** A visible condition of the image that the API reports as a warning. */
export type CardCondition = 'photocopy' | 'blur' | 'glare' | 'cover';

/** The `WarnCardInfos` code each condition warrants (the table in docs/tencent-api.md, `WarnCardInfos`). */
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

/**
 * The card data of item `index` of dataset `seed`: plausible, self-consistent, reproducible.
 * Dates: birth < first issue <= current issue < validity; validity 10 years from the current
 * issue, 5 when the holder was under 18 then or the card is non-permanent, `------` for a
 * permanent resident aged 60 or over at issue (docs/macao-id-card.md, Dates). Telecodes are
 * {@link encodeTelecode} of the Chinese names.
 */
export function generateCard(seed: number, index: number, opts: GenerateCardOptions = {}): SpecimenCard {
  const ref = parseReference(opts.referenceDate ?? DEFAULT_REFERENCE_DATE);
  const conditionRate = opts.conditionRate ?? 0.15;
  if (!(conditionRate >= 0 && conditionRate <= 1)) {
    throw new Error(`\`conditionRate\` must be a number from 0 to 1, got \`${conditionRate}\``);
  }
  // Separate streams: tuning one aspect (say the condition rate) leaves the others unchanged.
  // Within the data stream, the order of the draws below is what a seed reproduces: keep it.
  const r = createRandom(seed, index, 1);
  const sex = r.chance(0.5) ? 'M' : 'F';
  const permanent = r.chance(0.88);
  const dates = makeDates(r, ref, permanent);
  const symbol = makeSymbol(r, permanent);
  const first = makeFirstIssue(r, dates, symbol, permanent);
  const id = makeId(r, dates.birth);
  const name = makeName(r, sex);
  const fields: MacaoCardFields = {
    ...nameFields(name),
    ID: id,
    Birthday: formatCardDate(dates.birth),
    Sex: sex,
    FirstIssueDate: formatCardDate(first),
    CurrentIssueDate: formatCardDate(dates.current),
    ValidityPeriod: dates.validity,
    Symbol: symbol,
    Height: makeHeight(r, sex, dates.ageAtIssue),
    ResidentType: permanent ? RESIDENT_TYPES[0] : RESIDENT_TYPES[1],
  };

  const condition = makeCondition(createRandom(seed, index, 2), conditionRate);
  const card: SpecimenCard = {
    specimenId: `s${seed}-${String(index).padStart(6, '0')}`,
    seed,
    index,
    fields,
    warnings: condition ? [CONDITION_WARNINGS[condition]] : [],
    look: makeLook(createRandom(seed, index, 3), sex, dates.ageAtIssue),
  };
  if (condition) card.condition = condition;
  return card;
}

/** A holder's dates, in epoch milliseconds (UTC midnights), and the printed validity. */
interface CardDates {
  birth: number;
  /** The current card's issue. */
  current: number;
  /** The holder's age at {@link current}. */
  ageAtIssue: number;
  /** `DD-MM-YYYY`, or `------` for a permanent card. */
  validity: string;
}

function makeDates(r: Random, ref: number, permanent: boolean): CardDates {
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
  return { birth, current, ageAtIssue, validity };
}

function makeSymbol(r: Random, permanent: boolean): MacaoCardFields['Symbol'] {
  return permanent
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
}

/**
 * The first issue: Macao-born holders got their first card at five or soon after; others when
 * they settled, and a non-permanent resident's first card is recent.
 */
function makeFirstIssue(r: Random, dates: CardDates, symbol: string, permanent: boolean): number {
  const { birth, current } = dates;
  const bornHere = symbol === 'A' || symbol === 'S';
  const earliest = Math.max(
    addYears(birth, 5),
    bornHere
      ? addYears(birth, 5) + r.int(0, 3 * 365) * DAY_MS
      : permanent
        ? addYears(birth, r.int(5, 35))
        : current - r.int(0, 4 * 365) * DAY_MS,
  );
  return earliest >= current || (!bornHere && r.chance(0.3))
    ? current
    : bornHere
      ? earliest
      : r.int(earliest / DAY_MS, current / DAY_MS) * DAY_MS;
}

/** `NNNNNNN(C)`: the lead digit 1, or 5 and 7 for some holders born before 1978 and 1970. */
function makeId(r: Random, birth: number): string {
  const birthYear = new Date(birth).getUTCFullYear();
  const lead = birthYear < 1970 && r.chance(0.12) ? '7' : birthYear < 1978 && r.chance(0.3) ? '5' : '1';
  return `${lead}${String(r.int(0, 999_999)).padStart(6, '0')}(${r.int(0, 9)})`;
}

/** A visible condition for a `rate` share of cards, from its own stream. */
function makeCondition(rc: Random, rate: number): CardCondition | undefined {
  return rc.chance(rate) ? rc.pick(['photocopy', 'blur', 'glare', 'cover'] as const) : undefined;
}
