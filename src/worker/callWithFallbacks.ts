import type { Job } from 'bullmq';
import pRetry from 'p-retry';
import type { Logger } from '../log.js';
import type { CallRecord } from '../ocr/client.js';
import { CLIENT_CODES, ruleFor } from '../ocr/errorActions.js';
import { isOcrError, OcrError } from '../ocr/OcrError.js';
import type { RecognizeMacaoIDCardOCRResponse } from '../ocr/types.js';
import type { CardJobData } from '../queue.js';
import type { CardContext } from './cardContext.js';
import { type AttemptEnd, decide, type FailureFacts, failureCode } from './decide.js';
import { checkStoredCard, type PresentContext, type PresentMode, presentCard } from './presentImage.js';

/** How long a `DownLoadError` in `url` mode sends the process's next cards inline; then URLs are tried again. */
export const INLINE_FOR_MS = 60_000;

/**
 * A card whose job lock is gone when it is about to be sent (the worker stalled for longer than
 * the lock, and BullMQ may have given the job to another) is left to whoever holds it now: not
 * sent, and not moved either (BullMQ refuses a move without the lock; the stalled-job check gives
 * the card out again if nobody holds it).
 */
export const LOCK_LOST = 'the job lock was lost (another worker has the card)';

/** One card job's call to the API: what it needs, and what it learns on the way. */
export interface CardCall {
  ctx: CardContext;
  job: Job<CardJobData>;
  /** The job's lock token (BullMQ's), to check the lock is still ours and to move the job. */
  token: string | undefined;
  /** The job's signal: aborts when the shutdown's grace period is over. */
  signal: AbortSignal;
  /** The job's logger (run, job and attempt in every line). */
  log: Logger;
  /** This BullMQ attempt, from 1. */
  attempt: number;
  /** The attempts the job has in all. */
  maxAttempts: number;
  /** Observes every HTTP exchange (the card's ledger). */
  onCall: (rec: CallRecord) => void;
  /** How the image is presented now; the fallbacks change it. */
  mode: PresentMode;
  /** Set when the job's lock was found gone before sending. */
  lockLost: boolean;
}

/** A failure that ends the attempt: the error, its code, and what {@link decide} made of it. */
export interface CallFailure {
  err: Error;
  code: string;
  decision: AttemptEnd;
}

/** The mode a card starts in: inline while the process is in an inline spell after a `DownLoadError`. */
export function initialMode(ctx: CardContext): PresentMode {
  return ctx.imageMode === 'url' && ctx.inline.untilMs > Date.now() ? 'base64' : ctx.imageMode;
}

/**
 * The call step: the API with quick retries, and the image fallbacks (URL to inline after a
 * `DownLoadError`, downscaled after too large), each once, outside the quick-retry budget. Resolves
 * with the answer, or with the failure that ends the attempt; never rejects.
 */
export async function callWithFallbacks(
  call: CardCall,
): Promise<{ response: RecognizeMacaoIDCardOCRResponse } | { failure: CallFailure }> {
  for (let first = true; ; first = false) {
    try {
      // `url` mode's pre-flight, once an attempt: the provider would download what we checked.
      if (first && call.mode === 'url') await checkStoredCard(presentContext(call), cardOf(call));
      return { response: await callWithQuickRetries(call) };
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      const facts = factsOf(call, err, false);
      const decision = decide(facts);
      if (decision === 'inline') {
        startInlineSpell(call, facts.code);
        call.mode = 'base64';
      } else if (decision === 'downscale') call.mode = 'downscaled';
      else return { failure: { err, code: facts.code, decision } };
    }
  }
}

/** What {@link decide} is given about a failure of this card's call. */
function factsOf<Q extends boolean>(
  call: CardCall,
  err: Error,
  quickRetryLeft: Q,
): FailureFacts & { quickRetryLeft: Q } {
  const code = failureCode(err);
  return {
    code,
    rule: ruleFor(code),
    fromCall: isOcrError(err),
    mode: call.mode,
    quickRetryLeft,
    attempt: call.attempt,
    maxAttempts: call.maxAttempts,
    lockLost: call.lockLost,
    shuttingDown: call.signal.aborted,
    pastDeadline: pastDeadline(call.job.data),
  };
}

/** Whether a card has been failing for longer than its run allows (`maxRetryMs` since its first failure). */
function pastDeadline(data: CardJobData): boolean {
  return (
    data.maxRetryMs !== undefined &&
    data.failingSince !== undefined &&
    Date.now() - data.failingSince >= data.maxRetryMs
  );
}

/** The provider could not download our URL: the process's next cards go inline too, for a while. */
function startInlineSpell({ ctx, log }: CardCall, code: string): void {
  if (ctx.inline.untilMs <= Date.now())
    log.warn(
      { code, inlineForMs: INLINE_FOR_MS },
      'the provider could not download a presigned URL: this process sends images inline for a while, then tries URLs again (is S3_PRESIGN_ENDPOINT reachable from the provider?)',
    );
  ctx.inline.untilMs = Date.now() + INLINE_FOR_MS;
}

function callWithQuickRetries(call: CardCall): Promise<RecognizeMacaoIDCardOCRResponse> {
  const { ctx } = call;
  return pRetry(() => sendOnce(call), {
    retries: ctx.quickRetries,
    factor: 2,
    minTimeout: ctx.quickMinMs,
    maxTimeout: ctx.quickMaxMs,
    randomize: true,
    signal: call.signal,
    shouldRetry: ({ error }) => decide(factsOf(call, error, true)) === 'retryNow',
  });
}

function presentContext({ ctx, signal }: CardCall): PresentContext {
  return {
    s3: ctx.s3,
    presignS3: ctx.presignS3,
    budget: ctx.budget,
    presignTtlSec: ctx.presignTtlSec,
    maxPixels: ctx.maxPixels,
    signal,
  };
}

const cardOf = ({ job }: CardCall) => ({ versionId: job.id!, job: job.data });

/** Presents the image in the call's mode and sends it once (the client re-signs once by itself). */
async function sendOnce(call: CardCall): Promise<RecognizeMacaoIDCardOCRResponse> {
  const { ctx, signal } = call;
  const presented = await presentCard(presentContext(call), cardOf(call), call.mode);
  try {
    return await ctx.client.recognize(
      { ...presented.request, ...(ctx.portraits ? { config: { retImage: 'portrait' } } : {}) },
      { signal, beforeCall: (s) => takeSlotIfLockHeld(call, s), onCall: call.onCall },
    );
  } finally {
    presented.release();
  }
}

/**
 * Before each send: the job's lock must still be ours (else another worker may have the card and
 * pay for it too), then the shared rate's slot. Returns the slot's `sent`, for the client.
 */
async function takeSlotIfLockHeld(call: CardCall, signal?: AbortSignal): Promise<() => void> {
  const { ctx, job, token } = call;
  const lockLeft = async (): Promise<number> =>
    ctx.lockRemainingMs ? await ctx.lockRemainingMs(job.id!, token) : Number.POSITIVE_INFINITY;
  const lost = (): OcrError => {
    call.lockLost = true;
    return new OcrError(CLIENT_CODES.aborted, LOCK_LOST);
  };
  const left = await lockLeft();
  const seen = Date.now();
  if (left <= 0) throw lost();
  const slot = await ctx.limiter.acquire(signal);
  // BullMQ renews the lock meanwhile; only a wait that could have outlived it (with a second to
  // spare) is worth another look before paying.
  if (Date.now() - seen >= left - 1000 && (await lockLeft()) <= 0) throw lost();
  return slot.sent;
}
