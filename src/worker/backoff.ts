/** Options of {@link backoffDelayMs}. */
export interface BackoffOptions {
  /** Delay before the first retry, in ms. */
  baseMs: number;
  /** Growth per retry; default 2. */
  factor?: number;
  /** Upper bound of any delay, in ms. */
  capMs: number;
  /** Share of the delay that is random, 0..1; default 0.5 ("equal jitter": half fixed, half random). */
  jitter?: number;
}

/**
 * Exponential backoff with jitter and a cap, for retry number `retry` (1 = the first retry).
 * Jitter spreads the retries of many cards that failed together (an outage), so they do not
 * come back in one wave; the fixed half keeps a minimum wait. `random` is injectable for tests.
 */
export function backoffDelayMs(
  retry: number,
  opts: BackoffOptions,
  random: () => number = Math.random,
): number {
  const exp = opts.baseMs * (opts.factor ?? 2) ** Math.max(0, retry - 1);
  const capped = Math.min(opts.capMs, exp);
  const jitter = Math.min(1, Math.max(0, opts.jitter ?? 0.5));
  return Math.round(capped * (1 - jitter) + capped * jitter * random());
}

/**
 * Across BullMQ attempts: long enough to ride out an outage. Each retry waits between half and
 * the whole of 10 s, 20 s, 40 s, ... capped at 10 minutes: 8 attempts span 10-20 minutes.
 */
export const ATTEMPT_BACKOFF: BackoffOptions = { baseMs: 10_000, capMs: 600_000 };

/**
 * The backoff type card jobs carry. BullMQ applies its built-in types (`fixed`, `exponential`)
 * itself and calls a worker's `backoffStrategy` only for another type: this name is what makes
 * BullMQ use {@link backoffDelayMs}, with its jitter and cap.
 */
export const CARD_BACKOFF_TYPE = 'macao-ocr-card';
