import { createHash } from 'node:crypto';

/**
 * Query (and fragment) parameters whose value is a credential: passwords that database and Redis
 * clients accept as parameters, bearer tokens, and the parts of an S3 presigned URL that sign it or
 * name the access key. Matched case-insensitively, on the whole name.
 */
const SECRET_PARAMS = [
  'password',
  'passwd',
  'pass',
  'pwd',
  'token',
  'access_token',
  'secret',
  'api_key',
  'apikey',
  'x-amz-signature',
  'x-amz-credential',
  'x-amz-security-token',
  'sig',
  'signature',
];

/**
 * `scheme://userinfo@`: the user info runs to the last `@` before the first `/` (or white space),
 * so a password holding an unencoded `@`, `?` or `#` is still masked whole. A `/` in a password
 * would end a URL's authority for its client too.
 */
const USER_INFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/]*)@/gi;

const SECRET_PARAM = new RegExp(`([?&;#])(${SECRET_PARAMS.join('|')})=([^&#\\s]+)`, 'gi');

/** The value put where a secret was. */
export const MASK = '***';

/**
 * Masks the credentials of every URL in `text`, for a log line, an error message or `macao-ocr
 * config`: a password in the user info, with or without a user name (`redis://:pw@h`,
 * `postgres://u:pw@h/db`, `http://u:pw@proxy:3128` become `redis://:***@h`, ...), and the values
 * of credential parameters (`?password=`, `token`, `secret`, `X-Amz-Signature`,
 * `X-Amz-Credential`, `X-Amz-Security-Token`, `sig`, `signature`, ...; any case). The scheme, the
 * user name, the host, the port, the path and the other parameters stay as they are. Text
 * without a URL comes back unchanged; an unparsable URL is masked all the same.
 */
export function maskSecrets(text: string): string {
  return text
    .replace(USER_INFO, (_, scheme: string, userInfo: string) => {
      const colon = userInfo.indexOf(':');
      // No colon: the user info is a user name alone, which identifies but does not authenticate.
      return colon < 0 ? `${scheme}${userInfo}@` : `${scheme}${userInfo.slice(0, colon)}:${MASK}@`;
    })
    .replace(SECRET_PARAM, (_, sep: string, name: string) => `${sep}${name}=${MASK}`);
}

/**
 * A SecretId as an operator may see it in a message: its first and last four characters
 * (`AKID…1234`), enough to tell two credentials apart, not enough to use one.
 */
export function maskSecretId(secretId: string): string {
  return secretId.length > 12 ? `${secretId.slice(0, 4)}…${secretId.slice(-4)}` : `${secretId.slice(0, 2)}…`;
}

/**
 * Names one credential (SecretId and key together) without revealing either: 16 hex digits of a
 * SHA-256. A rotated key under the same SecretId is a different credential.
 */
export function credentialFingerprint(secretId: string, secretKey: string): string {
  return createHash('sha256').update(`${secretId}\u0000${secretKey}`).digest('hex').slice(0, 16);
}
