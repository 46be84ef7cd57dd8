import { readFileSync } from 'node:fs';

/**
 * The Lua script `./lua/NAME.lua`, for `EVAL`; read once, by the module that runs it. The build
 * copies these files next to the compiled modules (scripts/build.mjs).
 *
 * The comment block at the top of each file documents its KEYS, ARGV and reply. It is left out
 * of what is sent: `EVAL` carries the script's whole text with every call, and the rate
 * limiter's scripts run several times per card.
 */
export function luaScript(name: string): string {
  const text = readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8');
  return text.replace(/^(?:--.*\n|[ \t]*\n)*/, '');
}
