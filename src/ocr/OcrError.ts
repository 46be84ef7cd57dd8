import { type ErrorAction, ruleFor } from './errorActions.js';

/**
 * A failed OCR call, classified. Checked by `name` as well as `instanceof` (two copies of the
 * package may be loaded). The message never carries card data, URLs or secrets: see {@link safeMessage}.
 */
export class OcrError extends Error {
  override readonly name = 'OcrError';
  /** The provider's error code, or one of our `ClientError.*` codes. */
  readonly code: string;
  /** What to do next, from the one error-action table. */
  readonly action: ErrorAction;
  /** The provider's RequestId, when the service answered. */
  readonly requestId: string | undefined;
  /** HTTP status when the endpoint answered with something other than 200. */
  readonly httpStatus: number | undefined;

  constructor(
    code: string,
    message: string,
    opts: { requestId?: string; httpStatus?: number; cause?: unknown } = {},
  ) {
    super(`${code}: ${safeMessage(message)}`, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.action = ruleFor(code).action;
    this.requestId = opts.requestId || undefined;
    this.httpStatus = opts.httpStatus;
  }
}

export function isOcrError(e: unknown): e is OcrError {
  return (
    e instanceof OcrError || (e instanceof Error && e.name === 'OcrError' && 'code' in e && 'action' in e)
  );
}

/**
 * Strips what must never reach a log from a provider or network message: URLs (a presigned URL
 * carries a signature), long Base64 runs (image bytes), anything after `Signature=`. The provider's
 * messages are short English sentences; keeping 200 characters loses nothing useful.
 */
export function safeMessage(message: string): string {
  return message
    .replace(/\bhttps?:\/\/\S+/gi, '[url]')
    .replace(/Signature=\S+/gi, 'Signature=[redacted]')
    .replace(/[A-Za-z0-9+/=]{64,}/g, '[data]')
    .slice(0, 200);
}
