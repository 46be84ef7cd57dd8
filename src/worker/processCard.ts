import { setMaxListeners } from 'node:events';
import type { Job } from 'bullmq';
import { checkCard } from '../card/checks.js';
import { ACCOUNT_CONDITIONS, accountConditionsOf, CARD_FIELD_NAMES, nameWarnings } from '../card/fields.js';
import type { RecognizeMacaoIDCardOCRResponse } from '../ocr/types.js';
import type { CardJobData } from '../queue.js';
import { type CardCall, callWithFallbacks, initialMode } from './callWithFallbacks.js';
import { type CardContext, type CardJobResult, cardBase } from './cardContext.js';
import { CardLedger, skipIfRecognized } from './cardLedger.js';
import { storePortrait } from './portrait.js';
import { settleFailure } from './settleFailure.js';

/**
 * One card job, in steps: the ledger check first (never pay twice), then the call with quick
 * retries and image fallbacks; a failure is decided (decide.ts) and settled (settleFailure.ts),
 * an answer is recorded with its portrait. A recognized or rejected card completes its job;
 * BullMQ decides the rest from what this throws:
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
  const attempt = job.attemptsMade + 1;
  const log = ctx.logger.child({ runId: data.runId, jobId: job.id!, attempt });
  // Every quick retry and every call listens on the job's signal (p-retry, the limiter, the
  // client's timeout): more than Node's default of 10 listeners, none of them a leak.
  setMaxListeners(64, signal);

  const skipped = await skipIfRecognized(
    ctx,
    { versionId: job.id!, runId: data.runId },
    data.reprocess ?? false,
    log,
  );
  if (skipped) return skipped;

  const card = { versionId: job.id!, runId: data.runId, reprocess: data.reprocess ?? false };
  const ledger = new CardLedger(ctx, card, log);
  const call: CardCall = {
    ctx,
    job,
    token,
    signal,
    log,
    attempt,
    maxAttempts: job.opts.attempts ?? 1,
    onCall: ledger.onCall,
    mode: initialMode(ctx),
    lockLost: false,
  };
  const answer = await callWithFallbacks(call);
  if ('failure' in answer) return settleFailure(call, ledger, answer.failure);
  await recordRecognized(call, ledger, answer.response);
  return { outcome: 'recognized', code: null, apiCalls: ledger.calls.length };
}

/** The answer's fields we know: the card's, and `Angle`. Anything else is new from the provider. */
const KNOWN_FIELDS: ReadonlySet<string> = new Set<string>([...CARD_FIELD_NAMES, 'Angle']);

/** Fields the provider added that this version does not store, by name: how often each was seen. */
const unknownFieldsSeen = new Map<string, number>();

/**
 * A field the provider adds later is not stored (it could be personal data no purge knows of):
 * it is counted, and logged by name, never by value, the first time and every 1,000th time.
 */
function noteUnknownFields({ log }: CardCall, fields: Record<string, unknown>): void {
  for (const name of Object.keys(fields)) {
    if (KNOWN_FIELDS.has(name)) continue;
    const seen = (unknownFieldsSeen.get(name) ?? 0) + 1;
    unknownFieldsSeen.set(name, seen);
    if (seen === 1 || seen % 1000 === 0)
      log.warn(
        { field: name.slice(0, 64), seen },
        'the API answered a field this version does not store: dropped',
      );
  }
}

/** `run:code` of the account conditions this process has recorded: one store write per run, not per card. */
const accountConditionsNoted = new Set<string>();

/**
 * What the answer says of the account (-9109: no card warnings), noted once per run with one
 * warning in the log (the store decides which process was first). Best effort: a failed write is
 * tried again with the next card and never fails this one.
 */
async function noteAccountConditions(
  { ctx, job, log }: CardCall,
  codes: number[] | undefined,
): Promise<void> {
  for (const code of accountConditionsOf(codes)) {
    const key = `${job.data.runId}:${code}`;
    if (accountConditionsNoted.has(key)) continue;
    const first = await ctx.store.noteAccountCondition(job.data.runId, code).then(
      (isFirst) => {
        accountConditionsNoted.add(key);
        return isFirst;
      },
      () => false,
    );
    if (first) log.warn({ runId: job.data.runId, code }, `the API reports: ${ACCOUNT_CONDITIONS[code]}`);
  }
}

/** The answer's fields, warnings and checks in the store, with the portrait when asked for. */
async function recordRecognized(
  call: CardCall,
  ledger: CardLedger,
  response: RecognizeMacaoIDCardOCRResponse,
): Promise<void> {
  const { ctx, job, attempt, log } = call;
  const { RetImage, WarnCardInfos, RequestId, ...rest } = response;
  noteUnknownFields(call, rest);
  const checks = checkCard(rest);
  let portraitKey: string | undefined;
  if (ctx.portraits && RetImage) {
    const stored = await storePortrait(ctx.s3, ctx.portraits, job.id!, RetImage, log);
    if ('portraitKey' in stored) portraitKey = stored.portraitKey;
    else checks.push(stored.finding);
  }
  await noteAccountConditions(call, WarnCardInfos);
  const ok = ledger.calls.filter((c) => c.code === 'OK').at(-1);
  await ledger.finish({
    ...cardBase(job, attempt),
    outcome: 'recognized',
    fields: rest,
    warnings: nameWarnings(WarnCardInfos),
    checks,
    requestId: RequestId,
    latencyMs: ok?.latencyMs,
    portraitKey,
    rawResponse: { ...rest, WarnCardInfos, RequestId },
  });
}
