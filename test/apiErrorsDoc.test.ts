import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderApiErrors } from '../scripts/gen-api-errors.js';
import { ERROR_ACTIONS } from '../src/ocr/errorActions.js';

describe('docs/api-errors.md', () => {
  it('is what the error table generates (npm run docs:errors rewrites it)', () => {
    expect(readFileSync('docs/api-errors.md', 'utf8')).toBe(renderApiErrors());
  });

  it('has a row for every code of the table, with its action and billing', () => {
    const page = readFileSync('docs/api-errors.md', 'utf8');
    for (const [code, rule] of Object.entries(ERROR_ACTIONS)) {
      const row = page.split('\n').find((l) => l.startsWith(`| \`${code}\` |`));
      expect(row, code).toBeDefined();
      expect(row).toContain(`| \`${rule.action}\` |`);
    }
  });
});
