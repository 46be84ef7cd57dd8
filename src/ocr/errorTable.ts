import type { ErrorRule } from './errorActions.js';

/**
 * Every code the provider documents for this action, every common Tencent Cloud API code, every
 * code of the international SDK's OCR list, our client's and our worker's, each with one rule.
 * `docs/api-errors.md` is generated from this table (`npm run docs:errors`; a test keeps it so).
 *
 * How the actions were chosen:
 * - A code that answers something the same for every card (the shape of our request, our
 *   account, the endpoint, the action or its version) is `fatal`: every worker stops after a few
 *   calls and every card waits, where `reject` would reject a whole bucket one paid call at a time.
 * - A code about the image is `reject`, after the image fallbacks: a download the provider could
 *   not make is sent inline, a too-large image is downscaled.
 * - What the provider says is transient, or may be, is `retry`, a bounded number of times where
 *   its meaning is vague.
 *
 * Billing: the provider bills successful recognitions, and states one failure as billed
 * (`FailedOperation.EmptyImageError`); it says nothing of the others, which are `unknown` and
 * counted as billed in the call ledger. Codes of calls that never reached it are `not-billed`.
 */

const CREDENTIALS =
  'Check TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY (and TENCENTCLOUD_SESSION_TOKEN for temporary credentials), restart the workers, then run `macao-ocr resume`.';
const OUR_REQUEST =
  'Every card is sent the same way, so none can succeed: check OCR_ENDPOINT and this version of macao-ocr against the provider’s API page (report it), then run `macao-ocr resume`.';
const ACCOUNT = 'Fix it in the Tencent Cloud console, then run `macao-ocr resume`.';
const RESCAN = 'Look at the scan; a new scan of the card is a new version and is sent again.';
const WAIT = 'Nothing to do: retried with backoff. If it persists, check the provider’s status page.';

type Row = Omit<ErrorRule, 'source'>;
type Rows = Record<string, Row>;

const fatal = (meaning: string, hint: string, billing: Row['billing'] = 'unknown'): Row => ({
  action: 'fatal',
  billing,
  meaning,
  hint,
});
const reject = (meaning: string, hint = RESCAN, extra: Partial<Row> = {}): Row => ({
  action: 'reject',
  billing: 'unknown',
  meaning,
  hint,
  ...extra,
});
const retry = (meaning: string, hint = WAIT, extra: Partial<Row> = {}): Row => ({
  action: 'retry',
  billing: 'unknown',
  meaning,
  hint,
  ...extra,
});
const throttle = (meaning: string): Row => ({
  action: 'throttle',
  billing: 'unknown',
  meaning,
  hint: 'Every worker slows down and the card is sent again without spending an attempt; lower OCR_QPS if it persists.',
});

/** The codes of `RecognizeMacaoIDCardOCR`'s own page. */
const ACTION: Rows = {
  'FailedOperation.DownLoadError': retry(
    'The provider could not download the image URL (3 s and 7 MB limits).',
    'The card is sent again inline; if every card does this, the provider cannot reach S3_PRESIGN_ENDPOINT (or S3_ENDPOINT).',
    { fallback: 'inline' },
  ),
  'FailedOperation.EmptyImageError': reject('The image is empty.', RESCAN, { billing: 'billed' }),
  'FailedOperation.ImageDecodeFailed': reject(
    'The image could not be decoded: not a PNG or JPEG, truncated or corrupt.',
  ),
  'FailedOperation.ImageNoSpecifiedCard': reject('No Macao resident identity card was found in the image.'),
  'FailedOperation.OcrFailed': retry(
    'Recognition failed on the provider’s side (network or service trouble).',
  ),
  'FailedOperation.UnKnowError': retry('An unknown error on the provider’s side.', WAIT, { maxTries: 2 }),
  'FailedOperation.UnOpenError': fatal('The OCR service is not activated for this account.', ACCOUNT),
  'FailedOperation.WarningServiceFailed': retry('The card-warning service failed on the provider’s side.'),
  'InvalidParameter.ConfigFormatError': fatal('The Config parameter was not valid JSON.', OUR_REQUEST),
  'InvalidParameterValue.InvalidParameterValueLimit': fatal(
    'A parameter value was refused (for example a RetImage value this account may not ask for).',
    `${OUR_REQUEST} Without --portraits no RetImage is asked for.`,
  ),
  'LimitExceeded.TooLargeFileError': reject('The image is over 7 MB (after Base64).', RESCAN, {
    fallback: 'downscale',
  }),
};

/** The codes every Tencent Cloud API may answer. */
const COMMON: Rows = {
  ActionOffline: fatal('The action has been taken offline.', OUR_REQUEST),
  AuthFailure: fatal('Authentication failed.', CREDENTIALS),
  'AuthFailure.InvalidAuthorization': fatal(
    'The Authorization header was malformed.',
    `Check OCR_ENDPOINT and the credentials. ${CREDENTIALS}`,
  ),
  'AuthFailure.InvalidSecretId': fatal('The SecretId is not an API key.', CREDENTIALS),
  'AuthFailure.MFAFailure': fatal('The account requires MFA for this operation.', ACCOUNT),
  'AuthFailure.SecretIdNotFound': fatal('The SecretId does not exist or was disabled.', CREDENTIALS),
  'AuthFailure.SignatureExpire': {
    ...fatal(
      'The request’s timestamp is more than 5 minutes off the provider’s clock.',
      'The request is signed afresh once; if that fails too, fix this machine’s clock (NTP), then run `macao-ocr resume`.',
    ),
    resignOnce: true,
  },
  'AuthFailure.SignatureFailure': fatal('The signature was refused: wrong secret key.', CREDENTIALS),
  'AuthFailure.TokenFailure': fatal('The session token is invalid or expired.', CREDENTIALS),
  'AuthFailure.UnauthorizedOperation': fatal(
    'The credentials lack permission for ocr:RecognizeMacaoIDCardOCR.',
    'Grant it to the key’s CAM user or role, then run `macao-ocr resume`.',
  ),
  DryRunOperation: fatal('A dry-run request was answered (we never send DryRun).', OUR_REQUEST),
  FailedOperation: retry('The operation failed (no detail given).', WAIT, { maxTries: 3 }),
  InternalError: retry('An internal error on the provider’s side.'),
  InvalidAction: fatal(
    'The endpoint does not know RecognizeMacaoIDCardOCR.',
    `Check OCR_ENDPOINT. ${OUR_REQUEST}`,
  ),
  InvalidParameter: fatal('A parameter was refused (wrong type or format).', OUR_REQUEST),
  InvalidParameterValue: fatal('A parameter value was refused.', OUR_REQUEST),
  InvalidRequest: fatal('The request body’s multipart form was malformed.', OUR_REQUEST),
  IpInBlacklist: fatal('This machine’s IP address is on the account’s blacklist.', ACCOUNT),
  IpNotInWhitelist: fatal('This machine’s IP address is not on the account’s whitelist.', ACCOUNT),
  LimitExceeded: fatal('An account quota was exceeded.', ACCOUNT),
  MissingParameter: fatal('A required parameter was missing.', OUR_REQUEST),
  NoSuchProduct: fatal('The endpoint does not know the OCR product.', `Check OCR_ENDPOINT. ${OUR_REQUEST}`),
  NoSuchVersion: fatal(
    'The endpoint does not know API version 2018-11-19.',
    `Check OCR_ENDPOINT. ${OUR_REQUEST}`,
  ),
  RequestLimitExceeded: throttle('Requests exceed the account’s rate limit.'),
  'RequestLimitExceeded.GlobalRegionUinLimitExceeded': throttle('The account exceeds its global rate limit.'),
  'RequestLimitExceeded.IPLimitExceeded': throttle('This IP address exceeds its rate limit.'),
  'RequestLimitExceeded.UinLimitExceeded': throttle('The account (UIN) exceeds its rate limit.'),
  RequestSizeLimitExceeded: reject('The request body is over 10 MB.', RESCAN, { fallback: 'downscale' }),
  ResourceInUse: retry('A provider resource is in use.'),
  ResourceInsufficient: retry('The provider lacks resources for the request.'),
  ResourceNotFound: fatal('A resource the request names does not exist.', ACCOUNT),
  ResourceUnavailable: retry('A provider resource is unavailable.'),
  'ResourceUnavailable.InArrears': fatal('The account is in arrears.', `Top it up. ${ACCOUNT}`),
  'ResourceUnavailable.ResourcePackageRunOut': fatal(
    'The account’s resource package is used up.',
    `Buy more. ${ACCOUNT}`,
  ),
  ResourcesSoldOut: fatal('The account cannot be billed.', ACCOUNT),
  'ResourcesSoldOut.ChargeStatusException': fatal('The account’s billing status is abnormal.', ACCOUNT),
  ResponseSizeLimitExceeded: reject('The answer would be too large (a portrait of a very large image).'),
  ServiceUnavailable: retry('The service is unavailable.'),
  UnauthorizedOperation: fatal('The operation is not authorised for these credentials.', ACCOUNT),
  UnknownParameter: fatal('The service did not know a parameter we sent.', OUR_REQUEST),
  UnsupportedOperation: fatal('The operation is not supported for this account or region.', ACCOUNT),
  UnsupportedProtocol: fatal(
    'The request’s protocol is not supported (HTTPS is).',
    `Check OCR_ENDPOINT. ${OUR_REQUEST}`,
  ),
  UnsupportedRegion: fatal(
    'OCR_REGION is not supported by this endpoint.',
    'Fix OCR_REGION, then run `macao-ocr resume`.',
  ),
};

/** The international SDK's OCR codes that other actions answer, in case this one does too. */
const OCR_SDK: Rows = {
  'FailedOperation.CardSideError': reject('The card’s side is not the one expected.'),
  'FailedOperation.EngineRecognizeTimeout': retry('Recognition timed out on the provider’s side.'),
  'FailedOperation.FieldException': reject('A recognized field has an unexpected value.'),
  'FailedOperation.IdCardInfoIllegal': reject('The card’s information (number, name) is invalid.'),
  'FailedOperation.IdCardTooSmall': reject(
    'The card is too small in the image, or the image’s resolution too low.',
  ),
  'FailedOperation.ImageBlur': reject('The image is blurry.'),
  'FailedOperation.ImageNoIdCard': reject('No identity card was found in the image.'),
  'FailedOperation.ImageNoText': reject('No text was found in the image.'),
  'FailedOperation.ImageSizeTooLarge': reject('The image is over the size limit.', RESCAN, {
    fallback: 'downscale',
  }),
  'FailedOperation.InconsistencyBetweenMRZAndVRZ': reject(
    'The machine-readable zone disagrees with the visual zone.',
  ),
  'FailedOperation.InvalidPostalCodeLength': reject('A recognized postal code has the wrong length.'),
  'FailedOperation.LanguageNotSupport': fatal('The request’s language is not supported.', OUR_REQUEST),
  'FailedOperation.LLMServiceFailed': retry('The provider’s model service failed.'),
  'FailedOperation.MultiCardError': reject('Several cards of one side are in the image.'),
  'FailedOperation.NoHKIDCard': reject('The image is no Hong Kong identity card.'),
  'FailedOperation.NoMASIDCard': reject('The image is no Malaysian identity card.'),
  'FailedOperation.NoPassport': reject('The image is no passport.'),
  'FailedOperation.UnKnowFileTypeError': reject('The file type is unknown.'),
  'InvalidParameter.EngineImageDecodeFailed': reject('The image could not be decoded.'),
  'InvalidParameterValue.InvalidFileContentSize': reject(
    'The image’s size is invalid or over the limit.',
    RESCAN,
    {
      fallback: 'downscale',
    },
  ),
  'ResourceUnavailable.ImageDownloadError': retry(
    'The provider could not download the image.',
    'The card is sent again inline; if every card does this, the provider cannot reach S3_PRESIGN_ENDPOINT (or S3_ENDPOINT).',
    { fallback: 'inline' },
  ),
};

/** Codes our client gives to failures that never reached the service or came back without an answer. */
const CLIENT: Rows = {
  'ClientError.Network': retry(
    'The endpoint could not be reached (connection refused, reset, DNS).',
    'Check the network and OCR_ENDPOINT (and OCR_PROXY); retried with backoff.',
    { billing: 'not-billed' },
  ),
  'ClientError.Timeout': retry(
    'No answer within OCR_TIMEOUT_MS.',
    'Retried with backoff; raise OCR_TIMEOUT_MS if it persists.',
  ),
  'ClientError.Aborted': retry(
    'This process cancelled the call (shutdown).',
    'Nothing to do: the card goes back to the queue without spending an attempt.',
  ),
};

/** Failures on our side, before or after the call: the card is not at fault. */
const OURS: Rows = {
  'Storage.ObjectMissing': reject(
    'The image was deleted or replaced since it was listed.',
    'A new listing picks up its new version.',
    { billing: 'not-billed' },
  ),
  // An access key the object store does not know fails every card this worker reads, whatever
  // its bucket. What depends on the bucket (each job names its own) does not stop the queue: a
  // bucket deleted since its cards were listed would pause it again after every `resume`.
  'Storage.InvalidAccessKeyId': fatal(
    'The object store does not know the workers’ access key.',
    'Check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the credential chain), restart the workers, then run `macao-ocr resume`.',
    'not-billed',
  ),
  'Storage.NoCredentials': fatal(
    'The workers found no object-store credentials (no variables, profile or role).',
    'Set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or give the workers a role), restart the workers, then run `macao-ocr resume`.',
    'not-billed',
  ),
  'Storage.NoSuchBucket': reject(
    'The bucket was deleted since the card was listed.',
    'A new listing of its new home queues it again.',
    {
      billing: 'not-billed',
    },
  ),
  // The worker's pre-flight reads each image's first bytes before any call: these cost no call.
  'Image.NotPngOrJpeg': reject(
    'The image is not a PNG or a JPEG by its bytes (whatever its name or content type says), or its header does not give its size within the bytes read.',
    'Convert the scan to PNG or JPEG; the new file is a new version and is sent again.',
    { billing: 'not-billed' },
  ),
  'Image.TooManyPixels': reject(
    'The image header declares more pixels (width × height) than MACAO_OCR_MAX_PIXELS allows (default 50,000,000): a decompression bomb, or a scan far larger than a card needs.',
    'Rescan the card at a lower resolution (300 dpi is plenty), or raise MACAO_OCR_MAX_PIXELS if such scans are expected and the workers have the memory (4 bytes a pixel when downscaled).',
    { billing: 'not-billed' },
  ),
  'Worker.Error': retry('A failure on our side (Redis, the results store, this process).', WAIT, {
    billing: 'not-billed',
  }),
  'Worker.Stalled': retry(
    'The card was left by its worker (a crash, or a stall longer than the job lock) more often than BullMQ allows.',
    '`macao-ocr retry RUN --code Worker.Stalled` queues it again; if it keeps happening, look for what kills or stalls the workers on it.',
    { billing: 'not-billed' },
  ),
};

function tag(rows: Rows, source: ErrorRule['source']): Record<string, ErrorRule> {
  return Object.fromEntries(Object.entries(rows).map(([code, row]) => [code, { ...row, source }]));
}

/** The table: code → rule. */
export const ERROR_TABLE: Readonly<Record<string, ErrorRule>> = {
  ...tag(ACTION, 'action'),
  ...tag(COMMON, 'common'),
  ...tag(OCR_SDK, 'ocr-sdk'),
  ...tag(CLIENT, 'client'),
  ...tag(OURS, 'ours'),
};
