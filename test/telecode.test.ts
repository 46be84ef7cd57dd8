import { describe, expect, it } from 'vitest';
import { encodeTelecode, matchesTelecode, telecodesOf } from '../src/card/telecode.js';

describe('telecode table', () => {
  it('has the provider example: 何 is 0149', () => {
    expect(telecodesOf('何')).toEqual({ taiwan: '0149', mainland: '0149' });
    expect(encodeTelecode('何')).toBe('0149');
  });

  it('codes common Macao surnames, traditional ones in the Taiwan table', () => {
    expect(telecodesOf('陳')).toEqual({ taiwan: '7115' });
    expect(telecodesOf('李')).toEqual({ taiwan: '2621', mainland: '2621' });
    expect(encodeTelecode('張')).toBe('1728');
  });

  it('falls back to the mainland code for simplified characters', () => {
    expect(telecodesOf('陈')).toEqual({ mainland: '7115' });
    expect(encodeTelecode('陈')).toBe('7115');
  });

  it('concatenates four digits a character', () => {
    expect(encodeTelecode('陳李')).toBe('71152621');
    expect(encodeTelecode('')).toBe('');
  });

  it('gives undefined for a character without a code, and for text containing one', () => {
    expect(telecodesOf('A')).toBeUndefined();
    expect(telecodesOf('𠀀')).toBeUndefined();
    expect(encodeTelecode('何A')).toBeUndefined();
  });

  it('prefers the Taiwan code where the tables disagree, and matches either', () => {
    expect(telecodesOf('与')).toEqual({ taiwan: '8012', mainland: '5280' });
    expect(encodeTelecode('与')).toBe('8012');
    expect(matchesTelecode('与', '8012')).toBe(true);
    expect(matchesTelecode('与', '5280')).toBe(true);
    expect(matchesTelecode('与', '0149')).toBe(false);
    expect(matchesTelecode('A', '0149')).toBe(false);
  });

  it('keeps both codes of a character that has two in one table, the first preferred', () => {
    expect(encodeTelecode('塵')).toBe('1057');
    expect(matchesTelecode('塵', '7775')).toBe(true);
  });
});
