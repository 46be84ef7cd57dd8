// The recognized card the benchmarks write into the results store, many times over. No imports
// but types: the measured children load it.
import type { MacaoCardFields } from '../../src/card/fields.js';

/** The ID number of card `i`: `1NNNNNN(D)`, a different one for each `i` below a million. */
export const idNumber = (i: number): string => `1${String(i).padStart(6, '0')}(${i % 10})`;

/** The 15 fields the API reads off a card's front, the same for every card but the ID number. */
export function cardFields(id: string): MacaoCardFields {
  return {
    CnLastName: '陳',
    EnLastName: 'CHAN',
    LastNameCode: '7115',
    CnFirstName: '大文',
    EnFirstName: 'TAI MAN',
    FirstNameCode: '11292429',
    ID: id,
    Birthday: '22-04-1987',
    Sex: 'M',
    FirstIssueDate: '06-05-2001',
    CurrentIssueDate: '01-08-2020',
    ValidityPeriod: '01-08-2030',
    Symbol: 'A',
    Height: '1.72',
    ResidentType: 'Permanent Resident Identity Card',
  };
}
