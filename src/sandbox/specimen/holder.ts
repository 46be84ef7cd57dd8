import type { MacaoCardFields } from '../../card/fields.js';
import { encodeTelecode } from '../../card/telecode.js';
import type { PortraitLook } from './generateCard.js';
import {
  GIVEN_FEMALE,
  GIVEN_MALE,
  PORTUGUESE_GIVEN,
  PORTUGUESE_SURNAMES,
  SURNAMES,
  WESTERN_GIVEN,
} from './names.js';
import type { Random } from './random.js';

/**
 * The holder of a specimen card: name, height and portrait, each drawn from the stream it is
 * given, in a fixed order, so that a seed reproduces them.
 */

/** A holder's name: Chinese (empty for a Portuguese name) and romanized. */
interface Name {
  cnLast: string;
  enLast: string;
  cnFirst: string;
  enFirst: string;
}

/** A name for a holder of `sex`: mostly Chinese, a few Portuguese, some with a Western given name. */
export function makeName(r: Random, sex: 'M' | 'F'): Name {
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

/** Height in metres, `1.64`, for the holder's sex and age at issue. */
export function makeHeight(r: Random, sex: 'M' | 'F', age: number): string {
  const adult = sex === 'M' ? 1.71 : 1.59;
  // Sum of uniforms: roughly normal, no tails beyond ±0.12 m.
  const spread = (r.next() + r.next() + r.next() - 1.5) * 0.08;
  const h = age >= 18 ? adult + spread : Math.min(adult, 1.1 + (age - 5) * 0.055) + spread / 2;
  return h.toFixed(2);
}

/** The portrait's colours and shapes for the holder's sex and age. */
export function makeLook(r: Random, sex: 'M' | 'F', age: number): PortraitLook {
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

/** The name fields, with the telecodes of the Chinese names. */
export function nameFields(
  name: Name,
): Pick<
  MacaoCardFields,
  'CnLastName' | 'EnLastName' | 'LastNameCode' | 'CnFirstName' | 'EnFirstName' | 'FirstNameCode'
> {
  const lastCode = encodeTelecode(name.cnLast);
  const firstCode = encodeTelecode(name.cnFirst);
  if (lastCode === undefined || firstCode === undefined) {
    throw new Error(`specimen name ${name.cnLast}${name.cnFirst} has a character without a telecode`);
  }
  return {
    CnLastName: name.cnLast,
    EnLastName: name.enLast,
    LastNameCode: lastCode,
    CnFirstName: name.cnFirst,
    EnFirstName: name.enFirst,
    FirstNameCode: firstCode,
  };
}
