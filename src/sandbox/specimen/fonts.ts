import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { GlobalFonts } from '@napi-rs/canvas';

/**
 * Fonts for the specimen renderer. Chinese renders as empty boxes in @napi-rs/canvas until a CJK
 * font is registered, so the renderer looks for one and fails loudly when none is there, rather
 * than render unreadable cards. In order: the file `MACAO_OCR_CJK_FONT` names, a system CJK font
 * (Debian, Fedora and Arch places), then Noto Sans HK from the npm package
 * `@expo-google-fonts/noto-sans-hk`, a development dependency, so that `npm ci` is all a fresh
 * machine needs.
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

/** The npm package whose Noto Sans HK files are the last resort. */
const CJK_FONT_PACKAGE = '@expo-google-fonts/noto-sans-hk';

const SYSTEM_CJK_FONTS = [
  '/usr/share/fonts/truetype/wqy/wqy-microhei.ttc',
  '/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc',
  '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc',
  '/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc',
  '/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc',
  '/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc',
];

/** The package's regular and bold faces, or none when it is not installed. */
export function packageCjkFonts(): string[] {
  const require = createRequire(import.meta.url);
  const faces = ['400Regular/NotoSansHK_400Regular.ttf', '700Bold/NotoSansHK_700Bold.ttf'];
  try {
    return faces.map((f) => require.resolve(`${CJK_FONT_PACKAGE}/${f}`));
  } catch {
    return [];
  }
}

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

/** The CJK font files to register, first match wins: the override, a system font, the package. */
function cjkFaces(): string[] {
  const override = process.env[CJK_FONT_ENV];
  if (override) {
    if (!existsSync(override))
      throw new Error(
        `${CJK_FONT_ENV} names \`${override}\`, which does not exist: point it at a .ttf, .ttc or .otf file, or unset it`,
      );
    return [override];
  }
  const system = SYSTEM_CJK_FONTS.find((p) => existsSync(p));
  return system ? [system] : packageCjkFonts();
}

let registered = false;

/**
 * Registers the card fonts once per process. Throws when no CJK font can be found or the one found
 * is not a font, naming the file, `MACAO_OCR_CJK_FONT` and the package that provides one.
 */
export function ensureFonts(): void {
  if (registered) return;
  const faces = cjkFaces();
  if (faces.length === 0) {
    throw new Error(
      `No CJK font for the specimen cards: none in ${SYSTEM_CJK_FONTS.join(', ')}, and the package ${CJK_FONT_PACKAGE} is not installed. ` +
        `Run \`npm ci\` (it installs the package with the development dependencies), or set ${CJK_FONT_ENV} to a .ttf/.ttc/.otf file.`,
    );
  }
  for (const face of faces) {
    // Regular and bold under one alias, so that `bold 20px CardCJK` picks the bold face.
    if (!GlobalFonts.registerFromPath(face, 'CardCJK')) {
      throw new Error(
        `\`${face}\` cannot be read as a font${process.env[CJK_FONT_ENV] ? ` (from ${CJK_FONT_ENV})` : ''}: ` +
          `point ${CJK_FONT_ENV} at a .ttf, .ttc or .otf file that opens, or unset it.`,
      );
    }
  }
  for (const [alias, families] of LATIN_FAMILIES) {
    const found = families.find((f) => f[0] !== undefined && existsSync(f[0])) ?? [];
    for (const p of found) if (existsSync(p)) GlobalFonts.registerFromPath(p, alias);
  }
  registered = true;
}
