/**
 * What to do with each error the OCR API (or the road to it) can answer. One table, the way
 * graphile/worker keeps its retryable codes: the worker decides retries, slow-downs, rejections and
 * circuit breaking from here and nowhere else. Sources: the API page and the provider's common error codes (docs/error-codes.md). The split
 * between transient and permanent is our inference from the provider's descriptions and the
 * official SDKs' retry rules, not a documented contract.
 */

/**
 * - `retry`: transient; try again with backoff, spending an attempt.
 * - `throttle`: the account's rate is exceeded; slow every worker down and try again without spending an attempt.
 * - `reject`: permanent for this card; never retry it.
 * - `fatal`: nothing will succeed until a human acts (credentials, billing, service, configuration): stop calling.
 */
export type ErrorAction = 'retry' | 'throttle' | 'reject' | 'fatal';

export interface ErrorRule {
  action: ErrorAction;
  /** What the code means and what an operator should do, for logs, reports and the README. */
  hint: string;
  /** For `retry`: at most this many tries of a card end with this code before it is `failed` (default: the worker's budget). */
  maxTries?: number;
  /** The provider bills this failed call (`EmptyImageError` is billed: docs/error-codes.md). */
  billed?: boolean;
  /** Sign afresh (new timestamp) and send once more before the action applies. */
  resignOnce?: boolean;
}

/** Codes our client gives to failures that never reached the service or came back without an answer. */
export const CLIENT_CODES = {
  network: 'ClientError.Network',
  timeout: 'ClientError.Timeout',
  aborted: 'ClientError.Aborted',
  httpStatusPrefix: 'ClientError.HttpStatus.',
} as const;

const CHECK_CREDENTIALS =
  'Check TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY (and TENCENTCLOUD_SESSION_TOKEN for temporary credentials), then run `macao-ocr resume`.';

/** Every code of the API page and of the provider's common codes, exactly. */
export const ERROR_ACTIONS: Readonly<Record<string, ErrorRule>> = {
  // --- action-specific codes (API page) ---
  'FailedOperation.DownLoadError': {
    action: 'retry',
    hint: 'The service could not download the image URL (3 s, 7 MB limits). The worker retries and falls back to sending the image inline.',
  },
  'FailedOperation.EmptyImageError': {
    action: 'reject',
    billed: true,
    hint: 'The image is empty (0 bytes).',
  },
  'FailedOperation.ImageDecodeFailed': {
    action: 'reject',
    hint: 'The image could not be decoded: not a PNG/JPEG, truncated or corrupt. Re-scan the card.',
  },
  'FailedOperation.ImageNoSpecifiedCard': {
    action: 'reject',
    hint: 'No Macao resident identity card was found in the image. Check the scan.',
  },
  'FailedOperation.OcrFailed': {
    action: 'retry',
    hint: 'Recognition failed on the provider side; usually transient.',
  },
  'FailedOperation.UnKnowError': {
    action: 'retry',
    maxTries: 2,
    hint: 'Unknown provider error; retried a bounded number of times, then the card is failed.',
  },
  'FailedOperation.UnOpenError': {
    action: 'fatal',
    hint: 'The OCR service is not activated for this account. Activate it in the Tencent Cloud console, then run `macao-ocr resume`.',
  },
  'FailedOperation.WarningServiceFailed': {
    action: 'retry',
    hint: 'The card-warning service failed on the provider side; transient.',
  },
  'InvalidParameter.ConfigFormatError': {
    action: 'reject',
    hint: 'Config was not valid JSON. This is a bug in the request we built: report it.',
  },
  'InvalidParameterValue.InvalidParameterValueLimit': {
    action: 'reject',
    hint: 'A parameter value was refused (image URL or Config value).',
  },
  'LimitExceeded.TooLargeFileError': {
    action: 'reject',
    hint: 'The image exceeds 7 MB (after Base64). The worker retries once with a downscaled inline image.',
  },
  // --- common codes (every Tencent Cloud API) ---
  'AuthFailure.SignatureExpire': {
    action: 'fatal',
    resignOnce: true,
    hint: 'The request timestamp is more than 5 minutes off the service clock. Fix this machine’s clock (NTP).',
  },
  'AuthFailure.SignatureFailure': {
    action: 'fatal',
    hint: `The signature was refused: wrong secret key. ${CHECK_CREDENTIALS}`,
  },
  'AuthFailure.SecretIdNotFound': {
    action: 'fatal',
    hint: `The SecretId does not exist or was disabled. ${CHECK_CREDENTIALS}`,
  },
  'AuthFailure.TokenFailure': {
    action: 'fatal',
    hint: `The session token is invalid or expired. ${CHECK_CREDENTIALS}`,
  },
  'AuthFailure.InvalidSecretId': { action: 'fatal', hint: `The SecretId is malformed. ${CHECK_CREDENTIALS}` },
  'AuthFailure.InvalidAuthorization': {
    action: 'fatal',
    hint: 'The Authorization header was refused as malformed. Check OCR_ENDPOINT and the credentials.',
  },
  'AuthFailure.UnauthorizedOperation': {
    action: 'fatal',
    hint: 'The credentials lack permission for ocr:RecognizeMacaoIDCardOCR. Grant it in CAM, then run `macao-ocr resume`.',
  },
  'AuthFailure.MFAFailure': { action: 'fatal', hint: 'The account requires MFA for this operation.' },
  InternalError: { action: 'retry', hint: 'Internal error on the provider side; transient.' },
  InvalidParameter: { action: 'reject', hint: 'A parameter was refused (wrong type or format).' },
  InvalidParameterValue: { action: 'reject', hint: 'A parameter value was refused.' },
  MissingParameter: {
    action: 'reject',
    hint: 'No image was given. This is a bug in the request we built: report it.',
  },
  UnknownParameter: { action: 'reject', hint: 'The service did not know a parameter we sent: report it.' },
  UnsupportedOperation: {
    action: 'fatal',
    hint: 'The service refused the operation for this account or region.',
  },
  ResourceUnavailable: { action: 'retry', hint: 'A provider resource is unavailable; transient.' },
  LimitExceeded: { action: 'retry', hint: 'A provider limit was exceeded; retried with backoff.' },
  RequestLimitExceeded: {
    action: 'throttle',
    hint: 'Requests exceed the account’s rate limit. Workers slow down together; lower OCR_QPS if it persists.',
  },
  'RequestLimitExceeded.UinLimitExceeded': {
    action: 'throttle',
    hint: 'The account (UIN) exceeds its rate limit; workers slow down. Lower OCR_QPS if it persists.',
  },
  'RequestLimitExceeded.IPLimitExceeded': {
    action: 'throttle',
    hint: 'This IP exceeds its rate limit; workers slow down.',
  },
  'RequestLimitExceeded.GlobalRegionUinLimitExceeded': {
    action: 'throttle',
    hint: 'The account exceeds its global rate limit; workers slow down.',
  },
  RequestSizeLimitExceeded: {
    action: 'reject',
    hint: 'The request body exceeds 10 MB. The worker retries once with a downscaled inline image.',
  },
  ServiceUnavailable: { action: 'retry', hint: 'The service is unavailable; retried with backoff.' },
  InvalidAction: {
    action: 'fatal',
    hint: 'The endpoint does not know RecognizeMacaoIDCardOCR: check OCR_ENDPOINT.',
  },
  NoSuchVersion: {
    action: 'fatal',
    hint: 'The endpoint does not know API version 2018-11-19: check OCR_ENDPOINT.',
  },
  UnsupportedRegion: {
    action: 'fatal',
    hint: 'OCR_REGION is not supported by this endpoint: fix OCR_REGION.',
  },
  'ResourceUnavailable.InArrears': {
    action: 'fatal',
    hint: 'The account is in arrears. Top it up, then run `macao-ocr resume`.',
  },
  'ResourceUnavailable.ResourcePackageRunOut': {
    action: 'fatal',
    hint: 'The account’s resource package is used up. Buy more, then run `macao-ocr resume`.',
  },
  'ResourcesSoldOut.ChargeStatusException': {
    action: 'fatal',
    hint: 'The account’s billing status is abnormal. Check billing, then run `macao-ocr resume`.',
  },
  // --- our client's own codes: nothing came back from the service ---
  [CLIENT_CODES.network]: {
    action: 'retry',
    hint: 'The endpoint could not be reached (connection refused, reset, DNS).',
  },
  [CLIENT_CODES.timeout]: { action: 'retry', hint: 'No answer within the timeout.' },
  [CLIENT_CODES.aborted]: {
    action: 'retry',
    hint: 'The call was cancelled by this process (shutdown); the card goes back to the queue.',
  },
  // --- failures of our own side, before or after the call: the card is not at fault ---
  'Storage.ObjectMissing': {
    action: 'reject',
    hint: 'The image was deleted or replaced since it was listed; a new listing picks up its new version.',
  },
  // An access key the object store does not know fails every card this worker reads, whatever
  // its bucket: every worker stops. What depends on the bucket (each job names its own: a run may
  // list several, `retry` may run long after) does not stop the queue: a bucket deleted since its
  // cards were listed would pause it again after every `resume`. Signature and region errors stay
  // retried per card (some S3-compatible stores refuse the signature of unusual keys only).
  'Storage.InvalidAccessKeyId': {
    action: 'fatal',
    hint: "The object store does not know the workers' access key. Check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the credential chain), restart the workers, then run `macao-ocr resume`.",
  },
  'Storage.NoSuchBucket': {
    action: 'reject',
    hint: 'The bucket was deleted since the card was listed; a new listing of its new home queues it again.',
  },
  'Worker.Error': {
    action: 'retry',
    hint: 'A failure on our side (Redis, the results store, this process); retried with backoff.',
  },
  'Worker.Stalled': {
    action: 'retry',
    hint: 'The card was left by its worker (a crash, or a stall longer than the job lock) more times than BullMQ allows (maxStalledCount); `macao-ocr retry RUN --code Worker.Stalled` queues it again. If it keeps happening, look for what kills or stalls the workers on it.',
  },
};

/**
 * Families for codes the table does not list: the provider adds sub-codes over time, and a new
 * `AuthFailure.*` must still stop the run, a new `RequestLimitExceeded.*` still slow it down.
 */
const FAMILY_RULES: readonly [prefix: string, rule: ErrorRule][] = [
  ['AuthFailure.', { action: 'fatal', hint: `Authentication failed. ${CHECK_CREDENTIALS}` }],
  ['RequestLimitExceeded.', { action: 'throttle', hint: 'A rate limit was exceeded; workers slow down.' }],
  [
    'ResourcesSoldOut.',
    { action: 'fatal', hint: 'The account cannot be billed. Check billing, then `macao-ocr resume`.' },
  ],
  ['ResourceUnavailable.', { action: 'retry', hint: 'A provider resource is unavailable; transient.' }],
  ['InvalidParameterValue.', { action: 'reject', hint: 'A parameter value was refused.' }],
  ['InvalidParameter.', { action: 'reject', hint: 'A parameter was refused.' }],
  [
    CLIENT_CODES.httpStatusPrefix,
    { action: 'retry', hint: 'The endpoint answered with a non-200 HTTP status (gateway error).' },
  ],
  [
    'Storage.',
    { action: 'retry', hint: 'The object store failed or could not be reached; retried with backoff.' },
  ],
];

/**
 * The safe default for a code nobody has seen: retry a bounded number of times, so a card ends
 * `failed` (and `retry` can try again later) instead of being rejected for good or stopping the run.
 */
export const UNKNOWN_CODE_RULE: ErrorRule = {
  action: 'retry',
  maxTries: 3,
  hint: 'An error code this version does not know; retried a few times, then the card is failed.',
};

/** The rule for a code: exact match, then its family, then {@link UNKNOWN_CODE_RULE}. */
export function ruleFor(code: string): ErrorRule {
  const exact = ERROR_ACTIONS[code];
  if (exact) return exact;
  for (const [prefix, rule] of FAMILY_RULES) if (code.startsWith(prefix)) return rule;
  return UNKNOWN_CODE_RULE;
}

export function actionFor(code: string): ErrorAction {
  return ruleFor(code).action;
}
