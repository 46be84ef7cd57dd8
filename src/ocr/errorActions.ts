import { ERROR_TABLE } from './errorTable.js';

/**
 * What to do with each error the OCR API (or the road to it) can answer. One table
 * (`errorTable.ts`), the way graphile/worker keeps its retryable codes: the worker decides
 * retries, slow-downs, rejections and circuit breaking from here and nowhere else. The split
 * between transient and permanent is our reading of the provider's descriptions and the official
 * SDKs' retry rules, not a documented contract; docs/api-errors.md lists every code.
 */

/**
 * - `retry`: transient; try again with backoff, spending an attempt.
 * - `throttle`: the account's rate is exceeded; slow every worker down and try again without spending an attempt.
 * - `reject`: permanent for this card; never retry it.
 * - `fatal`: nothing will succeed until a human acts (credentials, billing, service, configuration): stop calling.
 */
export type ErrorAction = 'retry' | 'throttle' | 'reject' | 'fatal';

/** Whether the provider bills a call answered with the code, as far as it says. */
export type Billing = 'billed' | 'not-billed' | 'unknown';

/** Where a code comes from: the action's page, the common codes, the SDK's OCR list, our client, our worker. */
export type CodeSource = 'action' | 'common' | 'ocr-sdk' | 'client' | 'ours';

export interface ErrorRule {
  action: ErrorAction;
  /** What the code means, in our words. */
  meaning: string;
  /** What happens to the card and what an operator does, for logs, reports and docs/api-errors.md. */
  hint: string;
  /** Billed as the provider says; `unknown` counts as billed in the call ledger. */
  billing: Billing;
  source: CodeSource;
  /** For `retry`: at most this many tries of a card end with this code before it is `failed` (default: the worker's budget). */
  maxTries?: number;
  /** Sign afresh (new timestamp) and send once more before the action applies. */
  resignOnce?: boolean;
  /** Before the action: send the image inline (the provider could not download it) or downscaled (too large), once. */
  fallback?: 'inline' | 'downscale';
}

/** Codes our client gives to failures that never reached the service or came back without an answer. */
export const CLIENT_CODES = {
  network: 'ClientError.Network',
  timeout: 'ClientError.Timeout',
  aborted: 'ClientError.Aborted',
  httpStatusPrefix: 'ClientError.HttpStatus.',
} as const;

const CHECK_CREDENTIALS =
  'Check TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY (and TENCENTCLOUD_SESSION_TOKEN for temporary credentials), restart the workers, then run `macao-ocr resume`.';

/** The table: every known code and its rule (src/ocr/errorTable.ts). */
export const ERROR_ACTIONS: Readonly<Record<string, ErrorRule>> = ERROR_TABLE;

const family = (rule: Omit<ErrorRule, 'source'>): ErrorRule => ({ ...rule, source: 'common' });

/**
 * Families for codes the table does not list: the provider adds sub-codes over time, and a new
 * `AuthFailure.*` must still stop the run, a new `RequestLimitExceeded.*` still slow it down. A
 * family matches its bare code as well as every sub-code.
 */
export const FAMILY_RULES: readonly [family: string, rule: ErrorRule][] = [
  [
    'AuthFailure',
    family({
      action: 'fatal',
      billing: 'unknown',
      meaning: 'Authentication failed.',
      hint: CHECK_CREDENTIALS,
    }),
  ],
  [
    'RequestLimitExceeded',
    family({
      action: 'throttle',
      billing: 'unknown',
      meaning: 'A rate limit was exceeded.',
      hint: 'Every worker slows down.',
    }),
  ],
  [
    'ResourcesSoldOut',
    family({
      action: 'fatal',
      billing: 'unknown',
      meaning: 'The account cannot be billed.',
      hint: 'Check billing, then run `macao-ocr resume`.',
    }),
  ],
  [
    'ResourceUnavailable',
    family({
      action: 'retry',
      billing: 'unknown',
      meaning: 'A provider resource is unavailable.',
      hint: 'Retried with backoff.',
    }),
  ],
  ...(
    ['InvalidParameterValue', 'InvalidParameter', 'UnauthorizedOperation', 'UnsupportedOperation'] as const
  ).map((name): [string, ErrorRule] => [
    name,
    family({
      action: 'fatal',
      billing: 'unknown',
      meaning: `${name}: the request or the account was refused.`,
      hint: 'Every card is sent the same way: check the configuration and the account, then run `macao-ocr resume`.',
    }),
  ]),
  [
    'LimitExceeded',
    family({
      action: 'retry',
      maxTries: 3,
      billing: 'unknown',
      meaning: 'A limit was exceeded.',
      hint: 'Retried a few times, then the card is failed.',
    }),
  ],
  [
    'FailedOperation',
    family({
      action: 'retry',
      maxTries: 3,
      billing: 'unknown',
      meaning: 'The operation failed.',
      hint: 'Retried a few times, then the card is failed.',
    }),
  ],
  [
    'ClientError.HttpStatus',
    {
      action: 'retry',
      billing: 'unknown',
      source: 'client',
      meaning: 'The endpoint answered with a non-200 HTTP status (a gateway error).',
      hint: 'Retried with backoff.',
    },
  ],
  [
    'Storage',
    {
      action: 'retry',
      billing: 'not-billed',
      source: 'ours',
      meaning: 'The object store failed or could not be reached.',
      hint: 'Retried with backoff.',
    },
  ],
];

/**
 * The safe default for a code nobody has seen: retry a bounded number of times, so a card ends
 * `failed` (and `retry` can try again later) instead of being rejected for good or stopping the run.
 */
export const UNKNOWN_CODE_RULE: ErrorRule = {
  action: 'retry',
  maxTries: 3,
  billing: 'unknown',
  source: 'common',
  meaning: 'An error code this version does not know.',
  hint: 'Retried a few times, then the card is failed.',
};

/** The rule for a code: exact match, then its family, then {@link UNKNOWN_CODE_RULE}. */
export function ruleFor(code: string): ErrorRule {
  const exact = ERROR_ACTIONS[code];
  if (exact) return exact;
  for (const [name, rule] of FAMILY_RULES) if (code === name || code.startsWith(`${name}.`)) return rule;
  return UNKNOWN_CODE_RULE;
}

export function actionFor(code: string): ErrorAction {
  return ruleFor(code).action;
}
