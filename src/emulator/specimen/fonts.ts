import { existsSync } from 'node:fs';
import { GlobalFonts } from '@napi-rs/canvas';

/**
 * Fonts for the specimen renderer. Chinese renders as empty boxes in @napi-rs/canvas until a CJK
 * font is registered (STACK.md), so we look for one in the usual Debian, Fedora and Arch places
 * and fail loudly when none is there, rather than render unreadable cards.
 */

/** Font family names to use in `ctx.font`; Latin first, CJK as the per-glyph fallback. */
export const FONTS = {
  /** Labels and values: Latin face with CJK fallback. */
  sans: 'CardSans, CardCJK',
  /** Chinese text. */
  cjk: 'CardCJK',
  /** Telecodes and the machine-readable zone. */
  mono: 'CardMono, CardSans, CardCJK',
} as const;

/** Environment variable naming a CJK font file to use instead of the candidates below. */
export const CJK_FONT_ENV = 'MACAO_OCR_CJK_FONT';

const CJK_CANDIDATES = [
  '/usr/share/fonts/truetype/wqy/wqy-microhei.ttc',
  '/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc',
  '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc',
  '/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc',
  '/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc',
  '/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc',
];

// Optional: without them the CJK font (which has Latin glyphs too) draws everything. Each entry
// is one family's faces, regular first; the first family whose regular face exists is used.
const DEJAVU = '/usr/share/fonts/truetype/dejavu';
const LIBERATION = '/usr/share/fonts/truetype/liberation';
const LATIN_FAMILIES: readonly (readonly [string, readonly (readonly string[])[]])[] = [
  [
    'CardSans',
    [
      [`${DEJAVU}/DejaVuSans.ttf`, `${DEJAVU}/DejaVuSans-Bold.ttf`],
      [`${LIBERATION}/LiberationSans-Regular.ttf`, `${LIBERATION}/LiberationSans-Bold.ttf`],
    ],
  ],
  [
    'CardMono',
    [
      [`${DEJAVU}/DejaVuSansMono.ttf`, `${DEJAVU}/DejaVuSansMono-Bold.ttf`],
      [`${LIBERATION}/LiberationMono-Regular.ttf`, `${LIBERATION}/LiberationMono-Bold.ttf`],
    ],
  ],
];

let registered = false;

/**
 * Registers the card fonts once per process. Throws when no CJK font is installed, naming the
 * package to install and the environment variable that points at a font file instead.
 */
export function ensureFonts(): void {
  if (registered) return;
  const override = process.env[CJK_FONT_ENV];
  const candidates = override ? [override, ...CJK_CANDIDATES] : CJK_CANDIDATES;
  const cjk = candidates.find((p) => existsSync(p) && GlobalFonts.registerFromPath(p, 'CardCJK'));
  if (!cjk) {
    throw new Error(
      `No CJK font found for the specimen cards (looked in ${candidates.join(', ')}). ` +
        `Install one with \`apt-get install -y fonts-wqy-microhei\` (or fonts-noto-cjk), or set ${CJK_FONT_ENV} to a .ttf/.ttc/.otf file.`,
    );
  }
  for (const [alias, families] of LATIN_FAMILIES) {
    const faces = families.find((f) => f[0] !== undefined && existsSync(f[0])) ?? [];
    // Regular and bold under one alias, so that `bold 20px CardSans` picks the bold face.
    for (const p of faces) if (existsSync(p)) GlobalFonts.registerFromPath(p, alias);
  }
  registered = true;
}
