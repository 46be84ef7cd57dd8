import { setMaxListeners } from 'node:events';
import type { S3Client } from '@aws-sdk/client-s3';
import { DelayedError, type Job, UnrecoverableError, Worker } from 'bullmq';
import pRetry from 'p-retry';
import { checkCard } from '../card/checks.js';
import { nameWarnings } from '../card/fields.js';
import type { Logger } from '../log.js';
import type { CallRecord, OcrClient } from '../ocr/client.js';
import { CLIENT_CODES, ruleFor } from '../ocr/errorActions.js';
import { isOcrError, OcrError } from '../ocr/OcrError.js';
import type { RecognizeMacaoIDCardOCRResponse } from '../ocr/types.js';
import type { CardJobData } from '../queue.js';
import type { ResultsStore } from '../results/store.js';
import type { CardResult, Outcome } from '../results/types.js';
import { putObject } from '../storage/s3.js';
import { describeS3Error } from '../storage/s3Errors.js';
import type { ByteBudget } from './byteBudget.js';
import type { CircuitBreaker } from './circuitBreaker.js';
import { type PresentMode, presentCard } from './presentImage.js';
import type { RateLimiter } from './rateLimiter.js';

/**
 * What became of a card each time a worker let go of it: a final outcome, or a return to the
 * queue (`throttled`: the API's rate limit; `paused`: the circuit breaker; `deferred`: shutdown).
 */
export type CardEvent = Outcome | 'throttled' | 'paused' | 'deferred';

/** Observes every card a worker lets go of (metrics); `code` is the API's or our error code. */
export type OutcomeListener = (event: CardEvent, code: string | undefined) => void;

/** Everything a card job needs; built once per worker process. */
export interface CardContext {
  s3: S3Client;
  /** Signs presigned URLs (`S3_PRESIGN_ENDPOINT`); default {@link s3}. */
  presignS3?: S3Client | undefined;
  store: ResultsStore;
  client: OcrClient;
  limiter: RateLimiter;
  budget: ByteBudget;
  breaker: CircuitBreaker;
  logger: Logger;
  imageMode: 'url' | 'base64';
  /**
   * In `url` mode: until when (epoch ms) this process sends images inline because the provider
   * could not download one of our URLs ({@link INLINE_FOR_MS} after its last `DownLoadError`).
   * Shared by the process's cards, so a bucket the provider cannot reach costs one failed call,
   * not one per card (each takes a turn in the shared rate).
   */
  inline: { untilMs: number };
  presignTtlSec: number;
  /** Where `RetImage` portraits go; unset: not asked for. */
  portraits?: { bucket: string; prefix: string } | undefined;
  /** Quick retries inside one attempt (p-retry); default 3, 0.5 s to 5 s. */
  quickRetries: number;
  quickMinMs: number;
  quickMaxMs: number;
  /** Pauses job intake of the whole queue for ms (BullMQ manual rate limit). */
  rateLimitQueue: (ms: number) => Promise<void>;
  /**
   * How long this worker's lock on the job has left, in ms (0: not ours any more; Infinity: no
   * lock to check). A call can wait on Redis (an outage, the rate slot) past the lock's expiry,
   * while the stalled-job check hands the card to another worker: calling then would pay twice.
   * Read before the rate slot; read again after it only when the wait may have outlived the lock,
   * so the common path puts no Redis round trip between the slot and the send (that jitter
   * bunches calls on arrival, bench/worker).
   */
  lockRemainingMs?: (jobId: string, token: string | undefined) => Promise<number>;
  /** Observes every call (metrics). */
  onCall?: (record: CallRecord) => void;
  /** Observes every finished card (metrics). */
  onOutcome?: OutcomeListener;
}

/** What a finished job returns (kept in Redis only briefly): identity and outcome, never card data. */
export interface CardJobResult {
  outcome: Outcome;
  code: string | null;
  apiCalls: number;
  /** True when the ledger said the card was recognized already, so nothing was sent. */
  alreadyRecognized?: boolean;
}

/** A card job's identity in the results store, and the BullMQ attempt it is on. */
export function cardBase(job: Job<CardJobData>, attempts: number): Omit<CardResult, 'outcome'> {
  const d = job.data;
  return {
    versionId: job.id!,
    runId: d.runId,
    bucket: d.bucket,
    frontKey: d.frontKey,
    frontEtag: d.frontEtag,
    backKey: d.backKey,
    backEtag: d.backEtag,
    attempts,
  };
}

/**
 * A card whose job lock is gone when it is about to be sent (the worker stalled for longer than
 * the lock, and BullMQ may have given the job to another) is left to whoever holds it now: not
 * sent, and not moved either (BullMQ refuses a move without the lock; the stalled-job check gives
 * the card out again if nobody holds it).
 */
const LOCK_LOST = 'the job lock was lost (another worker has the card)';

/**
 * Writes to the results store after a paid call are retried for about two minutes (0.25 s
 * doubling to 5 s; was 20 s): giving up loses the answer, and the card's next attempt pays again.
 * No new card is paid for meanwhile: its ledger check needs the store. An outage longer than this
 * still costs the cards in flight a second call.
 */
const STORE_WRITE_RETRY = { retries: 27, minTimeout: 250, maxTimeout: 5000 } as const;

/** How long a `DownLoadError` in `url` mode sends the process's next cards inline; then URLs are tried again. */
const INLINE_FOR_MS = 60_000;

const INLINE_AFTER_DOWNLOAD_ERROR: ReadonlySet<string> = new Set(['FailedOperation.DownLoadError']);
const DOWNSCALE_AFTER: ReadonlySet<string> = new Set([
  'LimitExceeded.TooLargeFileError',
  'RequestSizeLimitExceeded',
]);

function coerce(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

/**
 * One card job: the ledger first (never pay twice), then the API with quick retries and image
 * fallbacks, then the outcome in the store. BullMQ decides the rest from what this throws:
 * `RateLimitError`/`DelayedError` put the job back without spending an attempt, `UnrecoverableError`
 * ends it, any other error spends an attempt and retries later with backoff.
 */
export async function processCard(
  ctx: CardContext,
  job: Job<CardJobData>,
  token: string | undefined,
  signal: AbortSignal,
): Promise<CardJobResult> {
  const data = job.data;
  const versionId = job.id!;
  const attempt = job.attemptsMade + 1;
  const maxAttempts = job.opts.attempts ?? 1;
  const log = ctx.logger.child({ runId: data.runId, jobId: versionId, attempt });
  // Every quick retry and every call listens on the job's signal (p-retry, the limiter, the
  // client's timeout): more than Node's default of 10 listeners, none of them a leak.
  setMaxListeners(64, signal);

  if (!data.reprocess) {
    const known = (await ctx.store.outcomesOf([versionId])).get(versionId);
    if (known === 'recognized') {
      await ctx.store.settleRecognized(versionId);
      log.info({ outcome: 'recognized' }, 'already recognized: not sent again');
      return { outcome: 'recognized', code: null, apiCalls: 0, alreadyRecognized: true };
    }
  }

  const calls: CallRecord[] = [];
  const callWrites: Promise<void>[] = [];
  const onCall = (rec: CallRecord): void => {
    calls.push(rec);
    ctx.onCall?.(rec);
    // Each call goes to the ledger as soon as it is made, so a crash loses none of them.
    // Retried like the outcome below: a dropped store connection (a PostgreSQL restart, a
    // terminated backend) used to lose the record of a paid call, found by the chaos tests.
    const row = {
      versionId,
      runId: data.runId,
      requestId: rec.requestId,
      code: rec.code,
      latencyMs: rec.latencyMs,
      billed: rec.code === 'OK' || ruleFor(rec.code).billed === true,
      calledAt: new Date(rec.startedAt),
    };
    // A retry looks for the row first: the try before may have committed before its connection dropped.
    let tries = 0;
    callWrites.push(
      pRetry(async () => {
        if (tries++ > 0 && (await ctx.store.hasApiCall(row))) return;
        await ctx.store.recordApiCalls([row]);
      }, STORE_WRITE_RETRY).catch((e: unknown) =>
        log.warn({ err: coerce(e) }, 'could not record an API call'),
      ),
    );
    // A code with an image fallback says how the image was presented, not how the service is
    // doing: it does not count towards a storm of transient errors.
    if (rec.code !== 'OK' && !INLINE_AFTER_DOWNLOAD_ERROR.has(rec.code))
      void ctx.breaker.observe(ruleFor(rec.code).action === 'retry').catch(() => undefined);
    else void ctx.breaker.observe(false).catch(() => undefined);
  };

  let mode: PresentMode =
    ctx.imageMode === 'url' && ctx.inline.untilMs > Date.now() ? 'base64' : ctx.imageMode;
  let lockLost = false;
  const base = cardBase(job, attempt);
  const finish = async (result: CardResult): Promise<void> => {
    await Promise.all(callWrites);
    // The call is paid for: a lost connection to the store must not lose the answer (the next
    // attempt would find no row in the ledger and pay again). Retry the write for a while.
    await pRetry(() => ctx.store.recordOutcome(result, { reprocess: data.reprocess ?? false }), {
      ...STORE_WRITE_RETRY,
      onFailedAttempt: ({ error, attemptNumber }) =>
        log.warn(
          { attemptNumber, err: { message: error.message } },
          'could not record the outcome yet; retrying',
        ),
    });
    ctx.onOutcome?.(result.outcome, result.errorCode);
    log.info(
      {
        outcome: result.outcome,
        code: result.errorCode ?? null,
        apiCalls: calls.length,
        latencyMs: result.latencyMs,
      },
      'card done',
    );
  };

  /** The image fallback a failed call calls for, if any: each is tried once, outside the quick-retry budget. */
  const fallback = (e: unknown): PresentMode | undefined => {
    if (!isOcrError(e)) return undefined;
    // The provider may not reach the bucket: send the bytes ourselves.
    if (INLINE_AFTER_DOWNLOAD_ERROR.has(e.code) && mode === 'url') return 'base64';
    if (DOWNSCALE_AFTER.has(e.code) && mode !== 'downscaled') return 'downscaled';
    return undefined;
  };
  const callWithQuickRetries = (): Promise<RecognizeMacaoIDCardOCRResponse> =>
    pRetry(
      async () => {
        const presented = await presentCard(
          {
            s3: ctx.s3,
            presignS3: ctx.presignS3,
            budget: ctx.budget,
            presignTtlSec: ctx.presignTtlSec,
            signal,
          },
          data,
          mode,
        );
        try {
          return await ctx.client.recognize(
            { ...presented.request, ...(ctx.portraits ? { config: { retImage: 'portrait' } } : {}) },
            {
              signal,
              beforeCall: async (s) => {
                const lockLeft = async (): Promise<number> =>
                  ctx.lockRemainingMs
                    ? await ctx.lockRemainingMs(versionId, token)
                    : Number.POSITIVE_INFINITY;
                const lost = (): OcrError => {
                  lockLost = true;
                  return new OcrError(CLIENT_CODES.aborted, LOCK_LOST);
                };
                const left = await lockLeft();
                const seen = Date.now();
                if (left <= 0) throw lost();
                const slot = await ctx.limiter.acquire(s);
                // BullMQ renews the lock meanwhile; only a wait that could have outlived it (with
                // a second to spare) is worth another look before paying.
                if (Date.now() - seen >= left - 1000 && (await lockLeft()) <= 0) throw lost();
                return slot.sent;
              },
              onCall,
            },
          );
        } finally {
          presented.release();
        }
      },
      {
        retries: ctx.quickRetries,
        factor: 2,
        minTimeout: ctx.quickMinMs,
        maxTimeout: ctx.quickMaxMs,
        randomize: true,
        signal,
        shouldRetry: ({ error }) => {
          if (!isOcrError(error) || fallback(error)) return false;
          const rule = ruleFor(error.code);
          return (
            rule.action === 'retry' && rule.maxTries === undefined && error.code !== CLIENT_CODES.aborted
          );
        },
      },
    );

  let response: RecognizeMacaoIDCardOCRResponse;
  try {
    for (;;) {
      try {
        response = await callWithQuickRetries();
        break;
      } catch (e) {
        const next = fallback(e);
        if (!next) throw e;
        if (mode === 'url' && next === 'base64') {
          // The provider could not download our URL: the process's next cards go inline too.
          if (ctx.inline.untilMs <= Date.now())
            log.warn(
              { code: (e as OcrError).code, inlineForMs: INLINE_FOR_MS },
              'the provider could not download a presigned URL: this process sends images inline for a while, then tries URLs again (is S3_PRESIGN_ENDPOINT reachable from the provider?)',
            );
          ctx.inline.untilMs = Date.now() + INLINE_FOR_MS;
        }
        mode = next;
      }
    }
  } catch (e) {
    const err = coerce(e);
    const code = isOcrError(err) ? err.code : storageCode(err);
    const rule = ruleFor(code);
    if (lockLost) {
      await Promise.all(callWrites);
      ctx.onOutcome?.('deferred', code);
      log.warn(
        { code },
        'lost the lock of this card (a stall longer than the lock?): left to the worker that has it now, not sent by this one',
      );
      throw new DelayedError(LOCK_LOST);
    }
    if (signal.aborted || code === CLIENT_CODES.aborted) {
      // Shutdown: back to the queue without spending an attempt.
      await Promise.all(callWrites);
      await job.moveToDelayed(Date.now(), token);
      ctx.onOutcome?.('deferred', code);
      throw new DelayedError('worker shutting down');
    }
    if (rule.action === 'throttle') {
      // The rate first, the ledger after: the other cards must slow down now, not once the call
      // rows are written (which can take minutes while the store is away).
      const { qps, lone } = await ctx.limiter.throttled();
      // A short queue-wide pause is enough: the shared rate has just been cut. A full second here
      // cost a second of quota per throttle (bench/worker). A lone refusal pauses for two slots.
      await ctx.rateLimitQueue(lone ? Math.ceil(2000 / qps) : 300 + Math.round(Math.random() * 200));
      await Promise.all(callWrites);
      ctx.onOutcome?.('throttled', code);
      log.warn(
        { code, qps: Math.round(qps * 10) / 10 },
        lone
          ? 'the API refused one call as over the rate: every worker slows down a little'
          : 'the API says the rate is too high: every worker slows down',
      );
      throw Worker.RateLimitError();
    }
    if (rule.action === 'fatal') {
      await ctx.breaker.trip(code, data.runId);
      await Promise.all(callWrites);
      await job.moveToDelayed(Date.now() + 1000, token);
      ctx.onOutcome?.('paused', code);
      throw new DelayedError(`paused: ${code}`);
    }
    const message = isOcrError(err) ? err.message : err.message.slice(0, 300);
    if (rule.action === 'reject' || (isOcrError(err) && DOWNSCALE_AFTER.has(code))) {
      await finish({ ...base, outcome: 'rejected', errorCode: code, errorMessage: message });
      throw new UnrecoverableError(code);
    }
    const spent = attempt >= maxAttempts || (rule.maxTries !== undefined && attempt >= rule.maxTries);
    if (spent) {
      await finish({ ...base, outcome: 'failed', errorCode: code, errorMessage: message });
      throw new UnrecoverableError(code);
    }
    await Promise.all(callWrites);
    log.warn({ code }, 'transient failure: the card is retried later');
    throw err instanceof OcrError ? err : new Error(`${code}: ${message}`);
  }

  const { RetImage, WarnCardInfos, RequestId, ...rest } = response;
  const checks = checkCard(rest);
  let portraitKey: string | undefined;
  if (ctx.portraits && RetImage) {
    const key = `${ctx.portraits.prefix}${versionId}.jpg`;
    const { bucket } = ctx.portraits;
    // The call is paid: a portrait that cannot be written must not send the card again (a failed
    // attempt would). A few tries, then the card is recorded without it, flagged for a reviewer.
    // Not on the job's signal either: a shutdown waits for these few seconds rather than pay twice.
    try {
      // Each try gives up after 10 s: a store that stops answering must not hold the answer until
      // a shutdown kills the process and the next worker pays for the card again.
      const jpeg = Buffer.from(RetImage, 'base64');
      const put = () =>
        putObject(ctx.s3, bucket, key, jpeg, 'image/jpeg', { signal: AbortSignal.timeout(10_000) });
      await pRetry(put, {
        retries: 4,
        minTimeout: 250,
        maxTimeout: 2000,
      });
      portraitKey = key;
    } catch (e) {
      const err = describeS3Error(e, `writing the portrait to bucket ${bucket}`);
      log.warn(
        { code: `Storage.${err.code}`, err: { message: err.message } },
        'could not store the portrait: the card is recorded recognized without it (not sent again)',
      );
      checks.push({
        code: 'portrait-not-stored',
        message: `The portrait could not be written to the portraits bucket (Storage.${err.code}); the card was not sent again for it.`,
      });
    }
  }
  const ok = calls.filter((c) => c.code === 'OK').at(-1);
  await finish({
    ...base,
    outcome: 'recognized',
    fields: rest,
    warnings: nameWarnings(WarnCardInfos),
    checks,
    requestId: RequestId,
    latencyMs: ok?.latencyMs,
    portraitKey,
    rawResponse: { ...rest, WarnCardInfos, RequestId },
  });
  return { outcome: 'recognized', code: null, apiCalls: calls.length };
}

/** Object-storage failures before the call (a vanished object, an unreachable store) get codes of their own. */
function storageCode(err: Error): string {
  const code = (err as { code?: string }).code;
  if (err.name === 'StorageError' && code) {
    return code === 'NoSuchKey' || code === 'NotFound' ? 'Storage.ObjectMissing' : `Storage.${code}`;
  }
  return 'Worker.Error';
}
