/** An object-storage failure with a message that says what was wrong and what to do. */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  /** The S3 error name or network code (`NoSuchBucket`, `AccessDenied`, `ECONNREFUSED`, ...). */
  readonly code: string;
  /** Whether trying again later may succeed (network, 5xx, throttling). */
  readonly transient: boolean;

  constructor(code: string, message: string, transient: boolean) {
    super(message);
    this.code = code;
    this.transient = transient;
  }
}

const NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'TimeoutError',
]);

/** What an S3 error code means: the code to report, whether to retry, and what to tell the operator. */
interface KnownError {
  /** The code the {@link StorageError} carries; default the error's own. */
  reportAs?: string;
  transient: boolean;
  /** The message after `<doing>: `. */
  advice: (code: string) => string;
}

const NO_SUCH_BUCKET: KnownError = {
  transient: false,
  advice: () => 'the bucket does not exist. Check the bucket name and AWS_REGION.',
};
const ACCESS_DENIED: KnownError = {
  reportAs: 'AccessDenied',
  transient: false,
  advice: () =>
    'access denied. Check the storage credentials (AWS_ACCESS_KEY_ID or the credential chain) and the bucket policy.',
};
const BAD_CREDENTIALS: KnownError = {
  transient: false,
  advice: (code) =>
    `the object store refused the credentials (${code}). Check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.`,
};
const WRONG_REGION: KnownError = {
  transient: false,
  advice: (code) => `wrong region for this bucket (${code}). Set AWS_REGION to the bucket's region.`,
};
const BUSY: KnownError = {
  transient: true,
  advice: (code) => `the object store is busy or failing (${code}); retried later.`,
};

// A Map, not an object literal: a code such as `toString` must not find a prototype member.
const KNOWN_ERRORS = new Map<string, KnownError>([
  ['NoSuchBucket', NO_SUCH_BUCKET],
  ['NotFound', { transient: false, advice: () => 'not found.' }],
  [
    'NoSuchKey',
    { transient: false, advice: () => 'the object does not exist (deleted since it was listed?).' },
  ],
  ['AccessDenied', ACCESS_DENIED],
  ['Forbidden', ACCESS_DENIED],
  ['AllAccessDisabled', ACCESS_DENIED],
  ['InvalidAccessKeyId', BAD_CREDENTIALS],
  ['SignatureDoesNotMatch', BAD_CREDENTIALS],
  ['PermanentRedirect', WRONG_REGION],
  ['AuthorizationHeaderMalformed', WRONG_REGION],
  // The SDK's credential chain found nothing: no variables, no profile, no instance role.
  [
    'CredentialsProviderError',
    {
      reportAs: 'NoCredentials',
      transient: false,
      advice: () =>
        'no storage credentials found. Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or run with an instance or task role).',
    },
  ],
  ['SlowDown', BUSY],
  ['ServiceUnavailable', BUSY],
  ['InternalError', BUSY],
]);

/**
 * Turns an AWS SDK or network error into a {@link StorageError} whose message says what to do.
 * `doing` says what was being done without naming an object key; `redact` lists strings (the key
 * read) that must not come through from the store's own message either: some S3-compatible stores
 * quote the resource in their error text.
 */
export function describeS3Error(e: unknown, doing: string, redact: readonly string[] = []): StorageError {
  if (e instanceof StorageError) return e;
  const err = (e instanceof Error ? e : new Error(String(e))) as Error & {
    code?: string;
    $metadata?: { httpStatusCode?: number };
    Code?: string;
  };
  const code = err.name !== 'Error' ? err.name : (err.code ?? err.Code ?? 'Error');
  const status = err.$metadata?.httpStatusCode;
  const netCode = err.code && NETWORK.has(err.code) ? err.code : NETWORK.has(code) ? code : undefined;
  if (netCode) {
    return new StorageError(
      netCode,
      `${doing}: the object store cannot be reached (${netCode}). Check S3_ENDPOINT and the network.`,
      true,
    );
  }
  // HEAD requests carry no error body: only the status says what happened.
  if (status === 403 && (code === 'Unknown' || code === 'UnknownError' || code === 'Forbidden')) {
    return new StorageError(
      'AccessDenied',
      `${doing}: the object store refused access (HTTP 403). Check the storage credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the credential chain) and the bucket policy.`,
      false,
    );
  }
  // A HEAD of a missing bucket says only NotFound; opening a bucket, that means the bucket.
  if (code === 'NotFound' && status === 404 && doing.startsWith('opening bucket')) {
    return fromKnown(NO_SUCH_BUCKET, 'NoSuchBucket', doing);
  }
  const known = KNOWN_ERRORS.get(code);
  if (known) return fromKnown(known, code, doing);
  if (status !== undefined && status >= 500) {
    return new StorageError(code, `${doing}: the object store answered HTTP ${status} (${code}).`, true);
  }
  return new StorageError(code, `${doing}: ${code}: ${redacted(err.message, redact)}`.slice(0, 300), false);
}

/** `text` with every occurrence of each string in `secrets` (and of its URL-encoded form) replaced. */
function redacted(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) {
    if (!s) continue;
    for (const form of new Set([s, encodeURIComponent(s), encodeURI(s)])) out = out.split(form).join('[key]');
  }
  return out;
}

function fromKnown(known: KnownError, code: string, doing: string): StorageError {
  return new StorageError(known.reportAs ?? code, `${doing}: ${known.advice(code)}`, known.transient);
}
