import { describe, expect, it } from 'vitest';
import { checkAttributes, checkCard, checkDates, checkIdNumber, checkTelecode } from '../src/card/checks.js';
import { accountConditionsOf, type MacaoCardFields, nameWarnings } from '../src/card/fields.js';

const TODAY = '2026-11-29';
const codes = (f: { code: string }[]) => f.map((x) => x.code);

const GOOD: MacaoCardFields = {
  CnLastName: '何',
  EnLastName: 'HO',
  LastNameCode: '0149',
  CnFirstName: '',
  EnFirstName: 'CHAN YOU',
  FirstNameCode: '',
  ID: '1234567(8)',
  Birthday: '22-04-1997',
  Sex: 'F',
  FirstIssueDate: '06-05-2011',
  CurrentIssueDate: '01-08-2024',
  ValidityPeriod: '01-08-2034',
  Symbol: 'C',
  Height: '1.64',
  ResidentType: 'Permanent Resident Identity Card',
};

describe('card checks', () => {
  it('finds nothing on a consistent card', () => {
    expect(checkCard(GOOD, { today: TODAY })).toEqual([]);
  });

  it('reads the provider’s own example response: masked fields reported as masked, expiry flagged', () => {
    const example = {
      CnLastName: '',
      EnLastName: 'HO',
      LastNameCode: '0149',
      CnFirstName: '*',
      EnFirstName: 'CHAN YOU',
      FirstNameCode: '37****27',
      ID: '15****0(4)',
      Birthday: '22-04-1997',
      Sex: 'F',
      FirstIssueDate: '06-05-2011',
      CurrentIssueDate: '01-08-2014',
      ValidityPeriod: '01-08-2024',
      Symbol: 'C',
      Height: '1.64',
    };
    const found = codes(checkCard(example, { today: TODAY }));
    // It has no ResidentType: the provider may leave it out, so that is no finding.
    expect(found).toEqual(['id-masked', 'card-expired', 'telecode-without-name', 'telecode-masked']);
    expect(found).not.toContain('telecode-mismatch');
  });

  it.each([
    ['1234567(8)', []],
    ['5123456(0)', []],
    ['7/123456/9', []],
    ['2234567(8)', ['id-first-digit']],
    ['123456(8)', ['id-shape']],
    ['1234567-8', ['id-shape']],
    ['15****0(4)', ['id-masked']],
    ['', ['id-missing']],
  ])('ID %s → %o', (id, expected) => {
    expect(codes(checkIdNumber(id))).toEqual(expected);
  });

  it('checks each date exists and their order', () => {
    expect(codes(checkDates({ ...GOOD, Birthday: '31-02-1997' }, TODAY))).toEqual(['date-invalid']);
    expect(codes(checkDates({ ...GOOD, Birthday: '1997-04-22' }, TODAY))).toEqual(['date-invalid']);
    expect(codes(checkDates({ ...GOOD, FirstIssueDate: '01-01-1990' }, TODAY))).toEqual(['date-order']);
    expect(codes(checkDates({ ...GOOD, CurrentIssueDate: '01-01-2010' }, TODAY))).toEqual([
      'date-order',
      'validity-too-long',
    ]);
    expect(
      codes(checkDates({ ...GOOD, ValidityPeriod: '01-08-2020', CurrentIssueDate: '01-08-2021' }, TODAY)),
    ).toEqual(['date-order', 'card-expired']);
    expect(
      codes(checkDates({ ...GOOD, CurrentIssueDate: '01-01-2027', ValidityPeriod: '01-01-2037' }, TODAY)),
    ).toEqual(['date-in-future']);
    expect(codes(checkDates({ ...GOOD, ValidityPeriod: '01-08-2040' }, TODAY))).toEqual([
      'validity-too-long',
    ]);
  });

  it('accepts a permanent card (------ or absent) only for holders aged 60 or over at issue', () => {
    const senior = {
      ...GOOD,
      Birthday: '01-01-1950',
      FirstIssueDate: '06-05-1990',
      CurrentIssueDate: '02-01-2010',
      ValidityPeriod: '------',
    };
    expect(checkDates(senior, TODAY)).toEqual([]);
    expect(checkDates({ ...senior, ValidityPeriod: '' }, TODAY)).toEqual([]);
    expect(codes(checkDates({ ...senior, CurrentIssueDate: '31-12-2009' }, TODAY))).toEqual([
      'validity-missing',
    ]);
    expect(codes(checkDates({ ...GOOD, ValidityPeriod: '------' }, TODAY))).toEqual(['validity-missing']);
  });

  it('checks sex, symbol, resident type and height', () => {
    expect(checkAttributes(GOOD)).toEqual([]);
    expect(
      codes(checkAttributes({ ...GOOD, Sex: 'X', Symbol: 'O', ResidentType: 'Resident', Height: '1.64m' })),
    ).toEqual(['sex-invalid', 'symbol-unknown', 'resident-type-unknown', 'height-implausible']);
    expect(codes(checkAttributes({ ...GOOD, Height: '3.10' }))).toEqual(['height-implausible']);
    expect(
      checkAttributes({ ...GOOD, ResidentType: 'Non-permanent Resident Identity Card', Symbol: 'S' }),
    ).toEqual([]);
  });

  it('matches telecodes to Chinese characters, and finds a real mismatch', () => {
    expect(checkTelecode('LastName', '何', '0149')).toEqual([]);
    expect(codes(checkTelecode('LastName', '何', '7115'))).toEqual(['telecode-mismatch']);
    expect(codes(checkTelecode('LastName', '何', '014'))).toEqual(['telecode-length']);
    expect(codes(checkTelecode('LastName', '何', '01490000'))).toEqual(['telecode-length']);
    expect(codes(checkTelecode('FirstName', '*', '37****27'))).toEqual(['telecode-masked']);
    expect(codes(checkTelecode('FirstName', 'AB', '00010002'))).toEqual(['name-not-chinese']);
    expect(codes(checkTelecode('FirstName', '何', ''))).toEqual(['telecode-missing']);
  });

  it('never repeats a field value in a message', () => {
    const bad = { ...GOOD, ID: '9999999(9)', Birthday: '31-02-1997', LastNameCode: '7115' };
    for (const f of checkCard(bad, { today: TODAY })) {
      expect(f.message).not.toContain('9999999');
      expect(f.message).not.toContain('31-02-1997');
      expect(f.message).not.toContain('7115');
      expect(f.message).not.toContain('何');
    }
  });

  it('names the warning codes of this action, keeps unknown ones as numbers, and leaves -9109 to the account', () => {
    const codes = [-9101, -9102, -9103, -9104, -9107, -9108, -9109, -9105];
    expect(nameWarnings(codes)).toEqual([
      { code: -9101, name: 'covered' },
      { code: -9102, name: 'photocopy' },
      { code: -9103, name: 'photographed-screen' },
      { code: -9104, name: 'tampered' },
      { code: -9107, name: 'reflective' },
      { code: -9108, name: 'blurry' },
      { code: -9105, name: 'unknown' },
    ]);
    expect(accountConditionsOf(codes)).toEqual([-9109]);
  });

  it('a ResidentType is checked when present, and absent is no finding', () => {
    expect(codes(checkAttributes({ Sex: 'F', Symbol: 'A', Height: '1.60' }))).toEqual([]);
    expect(
      codes(checkAttributes({ Sex: 'F', Symbol: 'A', Height: '1.60', ResidentType: 'Tourist' })),
    ).toEqual(['resident-type-unknown']);
  });
});
