import { DelayedError, UnrecoverableError, Worker } from 'bullmq';
import { perCardLevel } from '../log.js';
import { isOcrError, OcrError } from '../ocr/OcrError.js';
import { type CallFailure, type CardCall, LOCK_LOST } from './callWithFallbacks.js';
import { type CardJobResult, cardBase } from './cardContext.js';
import type { CardLedger } from './cardLedger.js';

/** What settling a failure needs: the card's call and its ledger. */
type Settle = (call: CardCall, ledger: CardLedger, failure: CallFailure) => Promise<CardJobResult>;

/**
 * Carries out the decision that ended an attempt, and tells BullMQ the rest:
 * `RateLimitError`/`DelayedError` put the job back without spending an attempt,
 * `UnrecoverableError` ends it as failed, any other error spends an attempt and retries later
 * with backoff. A rejected card is an answer, not a fault: its job completes with outcome
 * `rejected`, so BullMQ's failed set holds only the cards the report calls failed, and no kept
 * failed job stands in the way of `--reprocess rejected`.
 * Each waits for the card's call rows to be written before letting the card go, so none is lost.
 */
export function settleFailure(
  call: CardCall,
  ledger: CardLedger,
  failure: CallFailure,
): Promise<CardJobResult> {
  return SETTLE[failure.decision](call, ledger, failure);
}

const SETTLE: Readonly<Record<CallFailure['decision'], Settle>> = {
  async leave({ ctx, log }, ledger, { code }) {
    await ledger.settled();
    ctx.onOutcome?.('deferred', code);
    log.warn(
      { code },
      'lost the lock of this card (a stall longer than the lock?): left to the worker that has it now, not sent by this one',
    );
    throw new DelayedError(LOCK_LOST);
  },

  async defer({ ctx, job, token }, ledger, { code }) {
    await ledger.settled();
    await job.moveToDelayed(Date.now(), token);
    ctx.onOutcome?.('deferred', code);
    throw new DelayedError('worker shutting down');
  },

  async throttle({ ctx, log }, ledger, { code }) {
    // The rate first, the ledger after: the other cards must slow down now, not once the call
    // rows are written (which can take minutes while the store is away).
    const { qps, lone } = await ctx.limiter.throttled();
    // A short queue-wide pause is enough, the shared rate having just been cut: intake paused is
    // quota unused (a whole second would cost a second of quota per throttle, bench/worker). A
    // lone refusal pauses for two slots.
    await ctx.rateLimitQueue(lone ? Math.ceil(2000 / qps) : 300 + Math.round(Math.random() * 200));
    await ledger.settled();
    ctx.onOutcome?.('throttled', code);
    log.warn(
      { code, qps: Math.round(qps * 10) / 10 },
      lone
        ? 'the API refused one call as over the rate: every worker slows down a little'
        : 'the API says the rate is too high: every worker slows down',
    );
    throw Worker.RateLimitError();
  },

  async pause({ ctx, job, token }, ledger, { code }) {
    await ctx.breaker.trip(code, job.data.runId);
    await ledger.settled();
    await job.moveToDelayed(Date.now() + 1000, token);
    ctx.onOutcome?.('paused', code);
    throw new DelayedError(`paused: ${code}`);
  },

  async reject(call, ledger, failure) {
    await record(call, ledger, failure, 'rejected');
    return { outcome: 'rejected', code: failure.code, apiCalls: ledger.calls.length };
  },

  async fail(call, ledger, failure) {
    await record(call, ledger, failure, 'failed');
    throw new UnrecoverableError(failure.code);
  },

  async retryLater({ job, log }, ledger, { err, code }) {
    await ledger.settled();
    // The run bounds how long a card may keep failing: the clock starts at its first failure.
    if (job.data.maxRetryMs !== undefined && job.data.failingSince === undefined)
      await job.updateData({ ...job.data, failingSince: Date.now() }).catch(() => undefined);
    log[perCardLevel(log, 'warn')]({ code }, 'transient failure: the card is retried later');
    throw err instanceof OcrError ? err : new Error(`${code}: ${errorMessage(err)}`);
  },
};

/** Records the card `rejected` or `failed` with its code. */
async function record(
  { job, attempt }: CardCall,
  ledger: CardLedger,
  { err, code }: CallFailure,
  outcome: 'rejected' | 'failed',
): Promise<void> {
  await ledger.finish({
    ...cardBase(job, attempt),
    outcome,
    errorCode: code,
    errorMessage: errorMessage(err),
  });
}

/** An `OcrError`'s message is safe to keep as it is; any other is cut short. */
function errorMessage(err: Error): string {
  return isOcrError(err) ? err.message : err.message.slice(0, 300);
}
