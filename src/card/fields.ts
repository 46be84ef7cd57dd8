/**
 * The Macao resident identity card as the API reports it: field names are the API's own
 * (`RecognizeMacaoIDCardOCR` response, API version 2018-11-19), so that stored records, exports and
 * the emulator's ground truth all speak one vocabulary.
 */

/** The recognized fields of a card front, by their API names. Every value is the API's raw string. */
export interface MacaoCardFields {
  /** Last name in Chinese, e.g. `何`. May be empty or masked (`*`). */
  CnLastName: string;
  /** Last name in English (Cantonese romanisation), e.g. `HO`. */
  EnLastName: string;
  /** Telecode of the Chinese last name: 4 digits per character, e.g. `0149`. */
  LastNameCode: string;
  /** First name in Chinese. */
  CnFirstName: string;
  /** First name in English, e.g. `CHAN YOU`. */
  EnFirstName: string;
  /** Telecodes of the Chinese first name, concatenated. */
  FirstNameCode: string;
  /** Identity card number, `XNNNNNN(Y)`. */
  ID: string;
  /** Date of birth, `DD-MM-YYYY`. */
  Birthday: string;
  /** `M` or `F`. */
  Sex: string;
  /** Date of first issue, `DD-MM-YYYY`. */
  FirstIssueDate: string;
  /** Date of the current issue, `DD-MM-YYYY`. */
  CurrentIssueDate: string;
  /** Valid until, `DD-MM-YYYY`; `------` on permanent cards of holders aged 60 and over. */
  ValidityPeriod: string;
  /** Document symbol (birthplace code), e.g. `A`. */
  Symbol: string;
  /** Height in metres, e.g. `1.64`. */
  Height: string;
  /** `Permanent Resident Identity Card` or `Non-permanent Resident Identity Card`. */
  ResidentType: string;
}

/** The field names of {@link MacaoCardFields}, in the order the API page lists them. */
export const CARD_FIELD_NAMES = [
  'CnLastName',
  'EnLastName',
  'LastNameCode',
  'CnFirstName',
  'EnFirstName',
  'FirstNameCode',
  'ID',
  'Birthday',
  'Sex',
  'FirstIssueDate',
  'CurrentIssueDate',
  'ValidityPeriod',
  'Symbol',
  'Height',
  'ResidentType',
] as const satisfies readonly (keyof MacaoCardFields)[];

export const RESIDENT_TYPES = [
  'Permanent Resident Identity Card',
  'Non-permanent Resident Identity Card',
] as const;

/**
 * Macao document symbols (docs/macao-id-card.md; from encyclopedic sources): A born in Macao, B Hong Kong,
 * C mainland China or Taiwan, D elsewhere, N unknown, S birth certificate on file.
 */
export const MACAO_SYMBOLS: Readonly<Record<string, string>> = {
  A: 'born in Macao',
  B: 'born in Hong Kong',
  C: 'born in mainland China or Taiwan',
  D: 'born elsewhere',
  N: 'birthplace unknown',
  S: 'birth certificate on file',
};

/**
 * `WarnCardInfos` codes of this action (docs/tencent-api.md). There is no -9105 or -9106 here: the
 * mainland-only ID action uses a different list, do not mix them.
 */
export const WARNING_NAMES: Readonly<Record<number, string>> = {
  [-9101]: 'covered',
  [-9102]: 'photocopy',
  [-9103]: 'photographed-screen',
  [-9104]: 'tampered',
  [-9107]: 'reflective',
  [-9108]: 'blurry',
};

/**
 * `WarnCardInfos` codes that describe the account, not the card: noted once per run (status, the
 * report), never counted as a card's warning.
 */
export const ACCOUNT_CONDITIONS: Readonly<Record<number, string>> = {
  [-9109]:
    'the card-warning service is not enabled for this account: cards carry no warnings. Enable it in the Tencent Cloud console.',
};

/** One API warning, named. Unknown codes keep their number and get the name `unknown`. */
export interface CardWarning {
  code: number;
  name: string;
}

export function nameWarnings(codes: readonly number[] | undefined): CardWarning[] {
  return (codes ?? [])
    .filter((code) => !(code in ACCOUNT_CONDITIONS))
    .map((code) => ({ code, name: WARNING_NAMES[code] ?? 'unknown' }));
}

/** The account conditions among `WarnCardInfos` codes ({@link ACCOUNT_CONDITIONS}). */
export function accountConditionsOf(codes: readonly number[] | undefined): number[] {
  return (codes ?? []).filter((code) => code in ACCOUNT_CONDITIONS);
}

/** One finding of our own checks on the recognized fields: a short stable code and a human message. */
export interface CheckFinding {
  code: string;
  message: string;
}

/** Parses the card's `DD-MM-YYYY` into ISO `YYYY-MM-DD`; `undefined` unless it is a real calendar date. */
export function parseCardDate(raw: string | undefined): string | undefined {
  const m = /^(\d{2})-(\d{2})-(\d{4})$/.exec(raw?.trim() ?? '');
  if (!m) return undefined;
  const [, dd, mm, yyyy] = m as unknown as [string, string, string, string];
  const d = new Date(Date.UTC(Number(yyyy), Number(mm) - 1, Number(dd)));
  if (
    d.getUTCFullYear() !== Number(yyyy) ||
    d.getUTCMonth() !== Number(mm) - 1 ||
    d.getUTCDate() !== Number(dd)
  ) {
    return undefined;
  }
  return `${yyyy}-${mm}-${dd}`;
}
