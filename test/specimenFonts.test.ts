import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { CJK_FONT_ENV, packageCjkFonts } from '../src/sandbox/specimen/fonts.js';
import { TSX } from './support/processes.js';

/**
 * The specimen renderer's CJK font. Fonts register once per process and for the whole process, so
 * each case runs in a child of its own: it registers the fonts, then draws three different Chinese
 * characters and prints how many distinct images they make (a missing font draws the same box).
 */

const FONTS = fileURLToPath(new URL('../src/sandbox/specimen/fonts.ts', import.meta.url));
const PROBE = `
import { createCanvas } from '@napi-rs/canvas';
import { ensureFonts } from ${JSON.stringify(FONTS)};
try {
  ensureFonts();
} catch (e) {
  console.log(JSON.stringify({ error: e.message }));
  process.exit(0);
}
const images = ['陳', '林', '黃'].map((ch) => {
  const c = createCanvas(64, 64);
  const g = c.getContext('2d');
  g.font = '48px CardCJK';
  g.fillText(ch, 4, 52);
  return c.toBuffer('image/png').toString('base64');
});
console.log(JSON.stringify({ distinct: new Set(images).size }));
`;

async function probe(
  env: Record<string, string | undefined>,
): Promise<{ error?: string; distinct?: number }> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', TSX, '--input-type=module', '-e', PROBE],
    { env: { ...process.env, ...env } },
  );
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}');
}

const dir = mkdtempSync(join(tmpdir(), 'macao-ocr-fonts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the specimen cards’ CJK font', () => {
  it('npm ci installs one: the regular and bold faces of Noto Sans HK', () => {
    const faces = packageCjkFonts();
    expect(faces).toHaveLength(2);
    for (const f of faces) expect(existsSync(f), f).toBe(true);
  });

  it('draws Chinese as glyphs with the package’s font', async () => {
    const r = await probe({ [CJK_FONT_ENV]: packageCjkFonts()[0] });
    expect(r).toEqual({ distinct: 3 });
  });

  it('draws Chinese as glyphs with whatever font it finds by itself', async () => {
    const r = await probe({ [CJK_FONT_ENV]: undefined });
    expect(r).toEqual({ distinct: 3 });
  });

  it(`${CJK_FONT_ENV} naming a file that is not a font: an error naming the file and the variable`, async () => {
    const bad = join(dir, 'not-a-font.ttf');
    writeFileSync(bad, 'this is a text file, not a font\n');
    const r = await probe({ [CJK_FONT_ENV]: bad });
    expect(r.error).toContain(bad);
    expect(r.error).toContain(CJK_FONT_ENV);
    expect(r.error).toContain('cannot be read as a font');
  });

  it(`${CJK_FONT_ENV} naming a file that does not exist: an error naming both`, async () => {
    const missing = join(dir, 'nowhere.ttc');
    const r = await probe({ [CJK_FONT_ENV]: missing });
    expect(r.error).toContain(missing);
    expect(r.error).toContain(`${CJK_FONT_ENV} names`);
  });
});
