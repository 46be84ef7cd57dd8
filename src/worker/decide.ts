import { CLIENT_CODES, type ErrorRule, ruleFor } from '../ocr/errorActions.js';
import { isOcrError } from '../ocr/OcrError.js';
import type { PresentMode } from './presentImage.js';

/**
 * What a worker does with a card whose call (or what came before it) failed. The image
 * fallbacks and quick retries keep the card in this attempt; the others end the attempt:
 *
 * - `inline`: send it again with the image inline (the provider could not download our URL).
 * - `downscale`: send it again inline and downscaled (the API said it was too large).
 * - `retryNow`: a quick retry inside this attempt (p-retry's budget and backoff).
 * - `leave`: this worker lost the job's lock; the card is neither sent nor moved, it is left to
 *   whoever holds it now.
 * - `defer`: shutdown; back to the queue without spending an attempt.
 * - `throttle`: over the account's rate; every worker slows down, and the card goes back to the
 *   queue without spending an attempt.
 * - `pause`: nothing will succeed until a human acts; every worker stops and the card waits.
 * - `reject`: permanent for this card; recorded `rejected`.
 * - `fail`: the card's tries are spent (its attempts, or its run's `--max-retry-minutes`); recorded `failed`.
 * - `retryLater`: the attempt is spent; BullMQ tries the card again after a backoff.
 */
export type Decision =
  | 'inline'
  | 'downscale'
  | 'retryNow'
  | 'leave'
  | 'defer'
  | 'throttle'
  | 'pause'
  | 'reject'
  | 'fail'
  | 'retryLater';

/** The decisions that end an attempt (no fallback or quick retry left to try). */
export type AttemptEnd = Exclude<Decision, 'inline' | 'downscale' | 'retryNow'>;

/** Everything {@link decide} looks at. */
export interface FailureFacts {
  /** The error's code: the API's, our client's (`ClientError.*`), or ours ({@link failureCode}). */
  code: string;
  /** The code's rule in the action table (`ruleFor(code)`, src/ocr/errorActions.ts). */
  rule: ErrorRule;
  /**
   * Whether the failure is a call's (an `OcrError`), as opposed to one before it (reading the
   * image, our side). Only a call's failure has image fallbacks and quick retries.
   */
  fromCall: boolean;
  /** How the failed call presented the image. */
  mode: PresentMode;
  /**
   * Whether a quick retry inside this attempt is still possible: true while p-retry asks whether
   * to retry, false once it has given up and the attempt's outcome is being decided.
   */
  quickRetryLeft: boolean;
  /** This BullMQ attempt, from 1. */
  attempt: number;
  /** The attempts the job has in all (`job.opts.attempts`). */
  maxAttempts: number;
  /** Whether this worker found the job's lock gone before sending. */
  lockLost: boolean;
  /** Whether the job's signal has aborted (shutdown: the grace period is over). */
  shuttingDown: boolean;
  /** Whether the card has kept failing longer than its run allows (`--max-retry-minutes`). */
  pastDeadline?: boolean;
}

/**
 * What to do with a failed card, from the facts alone (no I/O). Asked by p-retry whether to
 * retry a failed call (`quickRetryLeft`), and once p-retry has given up, for the attempt's
 * outcome. The order is the precedence: a lost lock before anything (never pay for another
 * worker's card), then the image fallbacks (each once, outside the quick-retry budget), quick
 * retries, shutdown, then the code's action. A code with its own `maxTries` is never retried
 * quickly: each of its tries spends an attempt. docs/api-errors.md describes the actions.
 */
export function decide(f: FailureFacts & { quickRetryLeft: false }): Exclude<Decision, 'retryNow'>;
export function decide(f: FailureFacts): Decision;
export function decide(f: FailureFacts): Decision {
  if (f.lockLost) return 'leave';
  // The rule's image fallback: in `url` mode the provider could not download the image, so the
  // card is sent inline; the image or the body was too large, so it is sent downscaled. Once each.
  if (f.fromCall && f.rule.fallback === 'inline' && f.mode === 'url') return 'inline';
  if (f.fromCall && f.rule.fallback === 'downscale' && f.mode !== 'downscaled') return 'downscale';
  const aborted = f.code === CLIENT_CODES.aborted;
  if (
    f.quickRetryLeft &&
    f.fromCall &&
    f.rule.action === 'retry' &&
    f.rule.maxTries === undefined &&
    !aborted
  )
    return 'retryNow';
  if (f.shuttingDown || aborted) return 'defer';
  if (f.rule.action === 'throttle') return 'throttle';
  if (f.rule.action === 'fatal') return 'pause';
  // Still too large once downscaled: no other image to send.
  if (f.rule.action === 'reject' || (f.fromCall && f.rule.fallback === 'downscale')) return 'reject';
  const spent =
    f.attempt >= f.maxAttempts ||
    (f.rule.maxTries !== undefined && f.attempt >= f.rule.maxTries) ||
    f.pastDeadline === true;
  return spent ? 'fail' : 'retryLater';
}

/**
 * Whether a call's code counts as a transient failure in the circuit breaker's storm window. A
 * code with an image fallback says how the image was presented, not how the service is doing: it
 * does not count.
 */
export function countsTowardsStorm(code: string): boolean {
  const rule = ruleFor(code);
  return code !== 'OK' && rule.fallback !== 'inline' && rule.action === 'retry';
}

/**
 * A failure's code: an `OcrError`'s own; an image the pre-flight refused, its `Image.*`; for
 * object-storage failures before the call (a vanished object, an unreachable store) `Storage.*`;
 * anything else on our side `Worker.Error`.
 */
export function failureCode(err: Error): string {
  if (isOcrError(err)) return err.code;
  const code = (err as { code?: string }).code;
  if (err.name === 'ImageRejection' && code?.startsWith('Image.')) return code;
  if (err.name === 'StorageError' && code) {
    return code === 'NoSuchKey' || code === 'NotFound' ? 'Storage.ObjectMissing' : `Storage.${code}`;
  }
  return 'Worker.Error';
}
