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

/** Turns an AWS SDK or network error into a {@link StorageError} whose message says what to do. */
export function describeS3Error(e: unknown, doing: string): StorageError {
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
  switch (code) {
    case 'NoSuchBucket':
      return new StorageError(
        code,
        `${doing}: the bucket does not exist. Check the bucket name and AWS_REGION.`,
        false,
      );
    case 'NotFound':
      return status === 404 && doing.startsWith('opening bucket')
        ? new StorageError(
            'NoSuchBucket',
            `${doing}: the bucket does not exist. Check the bucket name and AWS_REGION.`,
            false,
          )
        : new StorageError(code, `${doing}: not found.`, false);
    case 'NoSuchKey':
      return new StorageError(
        code,
        `${doing}: the object does not exist (deleted since it was listed?).`,
        false,
      );
    case 'AccessDenied':
    case 'Forbidden':
    case 'AllAccessDisabled':
      return new StorageError(
        'AccessDenied',
        `${doing}: access denied. Check the storage credentials (AWS_ACCESS_KEY_ID or the credential chain) and the bucket policy.`,
        false,
      );
    case 'InvalidAccessKeyId':
    case 'SignatureDoesNotMatch':
      return new StorageError(
        code,
        `${doing}: the object store refused the credentials (${code}). Check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.`,
        false,
      );
    case 'PermanentRedirect':
    case 'AuthorizationHeaderMalformed':
      return new StorageError(
        code,
        `${doing}: wrong region for this bucket (${code}). Set AWS_REGION to the bucket's region.`,
        false,
      );
    case 'SlowDown':
    case 'ServiceUnavailable':
    case 'InternalError':
      return new StorageError(
        code,
        `${doing}: the object store is busy or failing (${code}); retried later.`,
        true,
      );
    default:
      if (status !== undefined && status >= 500) {
        return new StorageError(code, `${doing}: the object store answered HTTP ${status} (${code}).`, true);
      }
      return new StorageError(code, `${doing}: ${code}: ${err.message}`.slice(0, 300), false);
  }
}
