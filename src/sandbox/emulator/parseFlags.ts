import { EmulatorConfigError, type EmulatorCredential, type FaultKind, isFaultKind } from './options.js';

/**
 * Parsers for the `macao-ocr emulator` flags. They throw {@link EmulatorConfigError} with a
 * message naming the flag and what was expected; the CLI prints it and exits with code 2.
 */

/** `--faults 'InternalError=0.1,drop=0.02'` → `{InternalError: 0.1, drop: 0.02}`. Empty text: no faults. */
export function parseFaults(text: string): Partial<Record<FaultKind, number>> {
  const out: Partial<Record<FaultKind, number>> = {};
  let sum = 0;
  for (const item of text.split(',').map((s) => s.trim())) {
    if (item === '') continue;
    const eq = item.lastIndexOf('=');
    const kind = eq === -1 ? item : item.slice(0, eq).trim();
    const rateText = eq === -1 ? '' : item.slice(eq + 1).trim();
    if (eq === -1 || rateText === '') {
      throw new EmulatorConfigError(`--faults: \`${item}\` must be CODE=RATE, e.g. InternalError=0.1`);
    }
    if (!isFaultKind(kind)) {
      throw new EmulatorConfigError(
        `--faults: unknown fault \`${kind}\`: give a provider error code (docs/api-errors.md), http502 or drop`,
      );
    }
    const rate = Number(rateText);
    if (!Number.isFinite(rate) || rate < 0 || rate > 1) {
      throw new EmulatorConfigError(
        `--faults: the rate of ${kind} must be a number from 0 to 1, got \`${rateText}\``,
      );
    }
    if (kind in out) throw new EmulatorConfigError(`--faults: ${kind} is given twice`);
    out[kind as FaultKind] = rate;
    sum += rate;
  }
  if (sum > 1 + 1e-9) throw new EmulatorConfigError(`--faults: the rates must sum to at most 1, got ${sum}`);
  return out;
}

/** `--latency-ms 50-200` → `[50, 200]`; a single number `N` → `[N, N]`. */
export function parseLatency(text: string): [number, number] {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:-\s*(\d+(?:\.\d+)?)\s*)?$/.exec(text);
  if (!m)
    throw new EmulatorConfigError(
      `--latency-ms must be MIN-MAX or N in milliseconds, e.g. 50-200, got \`${text}\``,
    );
  const min = Number(m[1]);
  const max = m[2] === undefined ? min : Number(m[2]);
  if (min > max) throw new EmulatorConfigError(`--latency-ms: MIN must not exceed MAX, got \`${text}\``);
  return [min, max];
}

/**
 * `--credentials 'ID:KEY,ID2:KEY2:TOKEN'` → credential pairs. A key or token is never echoed in a
 * message, only the entry's position.
 */
export function parseCredentials(text: string): EmulatorCredential[] {
  const out: EmulatorCredential[] = [];
  const entries = text.split(',').map((s) => s.trim());
  entries.forEach((entry, i) => {
    if (entry === '') return;
    const parts = entry.split(':');
    const [secretId, secretKey, ...rest] = parts;
    const token = rest.join(':');
    if (!secretId || !secretKey || (parts.length > 2 && token === '')) {
      throw new EmulatorConfigError(`--credentials: entry ${i + 1} must be ID:KEY or ID:KEY:TOKEN`);
    }
    if (out.some((c) => c.secretId === secretId)) {
      throw new EmulatorConfigError(`--credentials: entry ${i + 1} repeats SecretId \`${secretId}\``);
    }
    out.push({ secretId, secretKey, ...(token ? { token } : {}) });
  });
  return out;
}
