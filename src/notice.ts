import { createHmac } from 'node:crypto';
import type { Logger } from './log.js';
import { maskSecrets } from './maskSecrets.js';
import { claimDueNotices, type RunJson, runJson, settleNotice } from './results/runLifecycle.js';
import type { ResultsStore } from './results/store.js';

/**
 * The run-finished notice: one POST per run to its notify URL (`--notify`, or
 * `MACAO_OCR_NOTIFY_URL`) once none of its cards is pending, signed so that the receiver can
 * tell it from a forgery. Claimed in the results store before it is sent, so one process sends
 * it however many workers run; a failed delivery is tried again with backoff.
 */

/** The header that carries the signature: `sha256=<hex HMAC-SHA256 of the raw body>`. */
export const SIGNATURE_HEADER = 'X-Macao-OCR-Signature';

/** The notice's body: what happened to the run, in numbers. No card data: no key, no field. */
export interface NoticeBody extends RunJson {
  /** Finished cards by their last error code, e.g. `{ "FailedOperation.OcrFailed": 2 }`. */
  errorCodes: Record<string, number>;
}

/** The signature of `body` with `secret`, as {@link SIGNATURE_HEADER} carries it. */
export function signNotice(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export async function noticeBody(store: ResultsStore, runId: string): Promise<NoticeBody> {
  const [summary, codes] = await Promise.all([store.runSummary(runId), store.errorCodeCounts(runId)]);
  if (!summary) throw new Error(`run ${runId} is not in the results store`);
  const errorCodes: Record<string, number> = {};
  for (const c of codes) errorCodes[c.code] = (errorCodes[c.code] ?? 0) + c.count;
  return { ...runJson(summary), errorCodes };
}

/** Options of {@link deliverDueNotices}. */
export interface NoticeOptions {
  /** `MACAO_OCR_NOTIFY_SECRET`; without it no notice is claimed (another worker may have it). */
  secret: string | undefined;
  /** First retry after this, doubling up to 10 minutes; default 5,000 ms. */
  retryBaseMs?: number;
  /** Deliveries tried per run before it is given up (logged); default 10 (about half an hour). */
  maxAttempts?: number;
  /** One delivery's timeout; default 10,000 ms. */
  timeoutMs?: number;
  /** Only this run's notice. */
  runId?: string;
}

/** Claims and sends the notices that are due; returns how many were delivered. */
export async function deliverDueNotices(
  store: ResultsStore,
  log: Logger,
  opts: NoticeOptions,
): Promise<number> {
  if (!opts.secret) return 0;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const maxAttempts = opts.maxAttempts ?? 10;
  const claimed = await claimDueNotices(store, {
    leaseMs: timeoutMs + 5_000,
    maxAttempts,
    ...(opts.runId ? { runId: opts.runId } : {}),
  });
  let delivered = 0;
  for (const n of claimed) {
    const body = JSON.stringify(await noticeBody(store, n.runId));
    const error = await post(n.url, body, opts.secret, timeoutMs);
    const to = maskSecrets(n.url);
    if (error === undefined) {
      await settleNotice(store, n.runId, { delivered: true });
      log.info({ runId: n.runId, to, attempt: n.attempt }, 'run notice delivered');
      delivered++;
      continue;
    }
    const retryMs = Math.min(600_000, (opts.retryBaseMs ?? 5_000) * 2 ** (n.attempt - 1));
    await settleNotice(store, n.runId, { delivered: false, error, retryMs });
    if (n.attempt >= maxAttempts)
      log.error({ runId: n.runId, to, attempts: n.attempt, error }, 'run notice given up');
    else
      log.warn({ runId: n.runId, to, attempt: n.attempt, error, retryMs }, 'run notice failed; will retry');
  }
  return delivered;
}

/** POSTs the signed body; undefined when the receiver took it (2xx), else what went wrong. */
async function post(
  url: string,
  body: string,
  secret: string,
  timeoutMs: number,
): Promise<string | undefined> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'macao-ocr',
        [SIGNATURE_HEADER]: signNotice(body, secret),
      },
      body,
      // A redirect would carry the signed body somewhere the operator did not name.
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.arrayBuffer().catch(() => undefined);
    return res.ok ? undefined : `HTTP ${res.status}`;
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code;
    return cause ?? (e as Error).name;
  }
}
