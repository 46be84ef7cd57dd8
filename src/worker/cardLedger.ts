import pRetry from 'p-retry';
import { type Logger, perCardLevel } from '../log.js';
import type { CallRecord } from '../ocr/client.js';
import { ruleFor } from '../ocr/errorActions.js';
import type { CardResult } from '../results/types.js';
import type { CardContext, CardJobResult } from './cardContext.js';
import { countsTowardsStorm } from './decide.js';

/**
 * Writes to the results store after a paid call are retried for about two minutes (0.25 s
 * doubling to 5 s): giving up loses the answer, and the card's next attempt pays again.
 * No new card is paid for meanwhile: its ledger check needs the store. An outage longer than this
 * still costs the cards in flight a second call.
 */
export const STORE_WRITE_RETRY = { retries: 27, minTimeout: 250, maxTimeout: 5000 } as const;

function coerce(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

/**
 * The ledger check, first of all (never pay twice): a card the store says is recognized is not
 * sent again, unless the job says reprocess. Returns the job's result when the card is skipped.
 */
export async function skipIfRecognized(
  ctx: CardContext,
  card: { versionId: string; runId: string },
  reprocess: boolean,
  log: Logger,
): Promise<CardJobResult | undefined> {
  if (reprocess) return undefined;
  const known = (await ctx.store.outcomesOf([card.versionId])).get(card.versionId);
  if (known !== 'recognized') return undefined;
  await ctx.store.settleRecognized(card.versionId, card.runId);
  log[perCardLevel(log)]({ outcome: 'recognized' }, 'already recognized: not sent again');
  return { outcome: 'recognized', code: null, apiCalls: 0, alreadyRecognized: true };
}

/**
 * What one card job writes to the results store: each call as soon as it is made (so a crash
 * loses none of them), then the card's outcome. Both are retried ({@link STORE_WRITE_RETRY}): a
 * dropped store connection (a PostgreSQL restart, a terminated backend) must not lose the record
 * of a paid call, nor its answer.
 */
export class CardLedger {
  /** The calls made for the card in this attempt, in order. */
  readonly calls: CallRecord[] = [];
  private readonly writes: Promise<void>[] = [];

  constructor(
    private readonly ctx: CardContext,
    private readonly card: { versionId: string; runId: string; reprocess: boolean },
    private readonly log: Logger,
  ) {}

  /** Records a call made (the client's `onCall`): the ledger, the metrics, the storm check. */
  readonly onCall = (rec: CallRecord): void => {
    this.calls.push(rec);
    this.ctx.onCall?.(rec);
    const row = {
      versionId: this.card.versionId,
      runId: this.card.runId,
      requestId: rec.requestId,
      code: rec.code,
      latencyMs: rec.latencyMs,
      billed: rec.code === 'OK' || ruleFor(rec.code).billing !== 'not-billed',
      calledAt: new Date(rec.startedAt),
    };
    // A retry looks for the row first: the try before may have committed before its connection dropped.
    let tries = 0;
    this.writes.push(
      pRetry(async () => {
        if (tries++ > 0 && (await this.ctx.store.hasApiCall(row))) return;
        await this.ctx.store.recordApiCalls([row]);
      }, STORE_WRITE_RETRY).catch((e: unknown) =>
        this.log.warn({ err: coerce(e) }, 'could not record an API call'),
      ),
    );
    void this.ctx.breaker.observe(countsTowardsStorm(rec.code)).catch(() => undefined);
  };

  /** Waits until every call made so far is written (or given up on, with a warning: never rejects). */
  async settled(): Promise<void> {
    await Promise.all(this.writes);
  }

  /** Records the card's outcome once its calls are written; tells the listener and the log. */
  async finish(result: CardResult): Promise<void> {
    await this.settled();
    await pRetry(() => this.ctx.store.recordOutcome(result, { reprocess: this.card.reprocess }), {
      ...STORE_WRITE_RETRY,
      onFailedAttempt: ({ error, attemptNumber }) =>
        this.log.warn(
          { attemptNumber, err: { message: error.message } },
          'could not record the outcome yet; retrying',
        ),
    });
    this.ctx.onOutcome?.(result.outcome, result.errorCode);
    this.log[perCardLevel(this.log)](
      {
        outcome: result.outcome,
        code: result.errorCode ?? null,
        apiCalls: this.calls.length,
        ...(result.latencyMs === undefined ? {} : { latencyMs: Math.round(result.latencyMs) }),
      },
      'card done',
    );
  }
}
