import type { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ruleFor, UNKNOWN_CODE_RULE } from '../ocr/errorActions.js';

/**
 * What the dashboard may show of a job: its identity, never card data. Job data holds identity
 * only (`CardJobData`) and return values only the outcome (`CardJobResult`), but the board shows
 * whatever is in Redis, so it passes through these allow-lists: a field added to the payload
 * later, or a job someone added by hand, shows nothing it is not listed here.
 */
export const SHOWN_DATA_FIELDS = ['runId', 'bucket', 'frontKey', 'frontEtag', 'backKey', 'backEtag'] as const;

/** The fields of a job's return value the dashboard shows. */
export const SHOWN_RESULT_FIELDS = ['outcome', 'code', 'apiCalls', 'alreadyRecognized'] as const;

function pick(value: unknown, fields: readonly string[]): Record<string, unknown> | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const v = (value as Record<string, unknown>)[f];
    // Scalars only: a nested object under a known name could still carry anything.
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v === null) out[f] = v;
  }
  return out;
}

/** A job's data as the dashboard shows it: run, bucket, keys and ETags. */
export function formatJobData(data: unknown): Record<string, unknown> {
  return pick(data, SHOWN_DATA_FIELDS) ?? {};
}

/** A job's return value as the dashboard shows it: outcome, error code, calls made. */
export function formatJobResult(result: unknown): Record<string, unknown> | null {
  return pick(result, SHOWN_RESULT_FIELDS) ?? null;
}

/** A job's name in the list: `card <front key>`, so a row says which scan it is. */
export function formatJobName(job: unknown): string {
  const j = (typeof job === 'object' && job !== null ? job : {}) as { name?: unknown; data?: unknown };
  const name = typeof j.name === 'string' ? j.name : 'job';
  const frontKey = formatJobData(j.data).frontKey;
  return typeof frontKey === 'string' ? `${name} ${frontKey}` : name;
}

/** What the board shows for a failure whose reason is not one of our error codes. */
export const UNSHOWN_REASON = 'error (not shown here: see the worker log or `macao-ocr report`)';

/** BullMQ's own failure texts, and the code the results store records for each. */
const BULLMQ_REASONS: Readonly<Record<string, string>> = {
  'job stalled more than allowable limit': 'Worker.Stalled',
};

/** A leading error code: `FailedOperation.OcrFailed`, `ClientError.HttpStatus.502`, ... */
const LEADING_CODE = /^([A-Za-z]+(?:\.[A-Za-z0-9]+)*)(?::|$)/;

/**
 * A job's failure reason as the dashboard shows it: the error code alone, or
 * {@link UNSHOWN_REASON}. A reason is an error's message, and a message can carry anything its
 * thrower put there (an S3 key, a presigned URL, a name read from a card), so nothing after the
 * code is kept. The code must be one the error table knows (by name or family): a bare word or a
 * dotted name in that place could as well be a holder's name or a file name.
 */
export function formatFailedReason(reason: unknown): string | undefined {
  if (typeof reason !== 'string' || reason === '') return undefined;
  const known = BULLMQ_REASONS[reason];
  if (known) return known;
  const code = LEADING_CODE.exec(reason)?.[1];
  return code !== undefined && ruleFor(code) !== UNKNOWN_CODE_RULE ? code : UNSHOWN_REASON;
}

/** Installs the identity-only formatters on a bull-board queue adapter. */
export function applyIdentityFormatters(adapter: BullMQAdapter): void {
  adapter.setFormatter('data', formatJobData);
  adapter.setFormatter('returnValue', formatJobResult);
  adapter.setFormatter('name', formatJobName);
  // We never report progress; anything there is not ours to show.
  adapter.setFormatter('progress', (p: unknown) => (typeof p === 'number' ? p : 0));
}
