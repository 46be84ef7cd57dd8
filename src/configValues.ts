import { isLoopbackHost } from './endpoint.js';
import { maskSecrets } from './maskSecrets.js';

/** A configuration error: the CLI exits with code 2 and prints the message as is. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** The environment the configuration is read from. */
export type Env = Readonly<Record<string, string | undefined>>;

/** A variable's value, trimmed; undefined when unset or blank. */
export function str(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

/** A number > 0, or `def` when unset. */
export function positiveNumber(env: Env, name: string, def: number): number {
  const raw = str(env, name);
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(`${name} must be a number > 0, got \`${raw}\``);
  return n;
}

/** A number >= 0, or `def` when unset. */
export function nonNegativeNumber(env: Env, name: string, def: number): number {
  const raw = str(env, name);
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new ConfigError(`${name} must be a number >= 0, got \`${raw}\``);
  return n;
}

/** A number >= 0, or undefined when unset. */
export function optionalNonNegative(env: Env, name: string): number | undefined {
  return str(env, name) === undefined ? undefined : nonNegativeNumber(env, name, 0);
}

/** Bounds and unit of {@link wholeNumber}. */
export interface WholeNumberRange {
  /** Smallest value allowed. */
  min: number;
  /** Largest value allowed; default none (up to `Number.MAX_SAFE_INTEGER`). */
  max?: number;
  /** Unit named in the message (`seconds`, `days`); default none. */
  unit?: string;
}

/** A whole number (digits only) within `range`; undefined when unset. */
export function wholeNumber(env: Env, name: string, range: WholeNumberRange): number | undefined {
  const raw = str(env, name);
  if (raw === undefined) return undefined;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= range.min && n <= max)) {
    const what = range.unit ? `a whole number of ${range.unit}` : 'a whole number';
    const bounds = range.max === undefined ? `>= ${range.min}` : `from ${range.min} to ${range.max}`;
    throw new ConfigError(`${name} must be ${what} ${bounds}, got \`${raw}\``);
  }
  return n;
}

/** `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off` (any case); false when unset. */
export function bool(env: Env, name: string): boolean {
  const raw = str(env, name)?.toLowerCase();
  if (raw === undefined) return false;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got \`${raw}\``);
}

/** A URL with one of `protocols` (`redis:`, ...); undefined when unset. Messages mask its secrets. */
export function url(env: Env, name: string, protocols: string[], example: string): string | undefined {
  const raw = str(env, name);
  if (raw === undefined) return undefined;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be a URL like ${example}, got \`${maskSecrets(raw)}\``);
  }
  if (!protocols.includes(u.protocol)) {
    throw new ConfigError(
      `${name} must start with ${protocols.map((p) => `${p}//`).join(' or ')}, got \`${maskSecrets(raw)}\``,
    );
  }
  return raw;
}

/**
 * Refuses a cleartext `http://` endpoint (`endpoint`, the value of variable `name`) on a host that
 * is not this machine, unless `allowInsecure`: what goes there (signed requests, presigned URLs)
 * would cross the network unencrypted. An endpoint without a scheme is https.
 */
export function requireTls(name: string, endpoint: string | undefined, allowInsecure: boolean): void {
  if (endpoint === undefined || allowInsecure || !/^http:\/\//i.test(endpoint)) return;
  let host: string;
  try {
    host = new URL(endpoint).hostname;
  } catch {
    return; // Not a URL: the variable's own check says so.
  }
  if (isLoopbackHost(host)) return;
  throw new ConfigError(
    `${name} is cleartext http:// to ${host}, which is not this machine: requests and the URLs in them would cross the network unencrypted. Use https://, or set MACAO_OCR_ALLOW_INSECURE=1 if the network is trusted`,
  );
}
