import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { packageCjkFonts } from '../../src/sandbox/specimen/fonts.js';

/**
 * A real headless Chromium for browser tests, found without a system package: `CHROMIUM_PATH`
 * first, then Debian's `/usr/bin/chromium`, then the build `npm ci` installs with the development
 * dependencies (`@sparticuz/chromium`, unpacked into the temporary folder on first use).
 */

const SYSTEM_CHROMIUM = '/usr/bin/chromium';

/** Flags for a closed network and a root user: no background connections, no sandbox. */
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * A fontconfig file that lets Chromium see the system fonts and the CJK font of the npm package
 * the specimen renderer uses too: without a CJK font, Chinese text renders as boxes.
 */
function fontconfigFile(): string {
  const dir = join(tmpdir(), `macao-ocr-fontconfig-${process.getuid?.() ?? 0}`);
  mkdirSync(dir, { recursive: true });
  const dirs = ['/usr/share/fonts', ...new Set(packageCjkFonts().map((f) => dirname(f)))];
  const file = join(dir, 'fonts.conf');
  writeFileSync(
    file,
    `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n` +
      // The system's own rules (family aliases such as sans-serif), when it has fontconfig.
      '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n' +
      `${dirs
        .map((d) => `  <dir>${d}</dir>\n`)
        .join('')}  <cachedir>${join(dir, 'cache')}</cachedir>\n</fontconfig>\n`,
  );
  return file;
}

/** Where the Chromium comes from. */
async function locate(): Promise<{ path: string; origin: string }> {
  const env = process.env.CHROMIUM_PATH;
  if (env) return { path: env, origin: 'CHROMIUM_PATH' };
  if (existsSync(SYSTEM_CHROMIUM)) return { path: SYSTEM_CHROMIUM, origin: 'the system package' };
  // A headless-shell build made for serverless hosts. Its own flag list (`args`) is not used: it
  // runs one process, which ends the browser with its first closed page, and turns off web
  // security, which the dashboard test's Content-Security-Policy check relies on.
  const { default: npmChromium } = await import('@sparticuz/chromium');
  return { path: await npmChromium.executablePath(), origin: '@sparticuz/chromium' };
}

/** Launches Chromium, or fails with the reason and the ways to provide one. */
export async function launchChromium(): Promise<Browser> {
  let where = 'Chromium';
  try {
    const c = await locate();
    where = `Chromium at ${c.path} (from ${c.origin})`;
    if (!existsSync(c.path)) throw new Error('no such file');
    return await chromium.launch({
      executablePath: c.path,
      args: FLAGS,
      env: { ...process.env, FONTCONFIG_FILE: fontconfigFile() },
    });
  } catch (e) {
    const reason = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    throw new Error(
      `${where} could not start: ${reason}. Provide a Chromium in one of two ways: ` +
        `\`npm ci\` installs one with the development dependencies (@sparticuz/chromium), ` +
        `or set CHROMIUM_PATH to a Chromium binary (Debian's chromium package installs /usr/bin/chromium).`,
    );
  }
}
