import { timingSafeEqual } from 'node:crypto';
import {
  canonicalRequest,
  deriveSigningKey,
  firstLabel,
  MAX_CLOCK_SKEW_SEC,
  sha256Hex,
  sign,
  stringToSign,
  stripPort,
  TC3_ALGORITHM,
  utcDate,
} from './tc3.js';

/** The service side of TC3-HMAC-SHA256: checks a received request's signature, scope, clock and token. */

/** A request as the verifier sees it. */
export interface Tc3Request {
  method: string;
  path: string;
  /** Raw query string without `?`. */
  query: string;
  /** By lowercase name, as node:http gives them. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The body bytes exactly as received: the signature covers bytes, not parsed JSON. */
  rawBody: Buffer;
}

/** A credential the verifier accepts. */
export interface Tc3Secret {
  secretKey: string;
  /** Set for temporary credentials: then `X-TC-Token` must carry exactly this. */
  token?: string;
}

/** The codes a failed verification answers with, as the service does. */
export type Tc3FailureCode =
  | 'AuthFailure.InvalidAuthorization'
  | 'AuthFailure.SecretIdNotFound'
  | 'AuthFailure.SignatureExpire'
  | 'AuthFailure.SignatureFailure'
  | 'AuthFailure.TokenFailure';

/** The outcome of {@link verifyTc3}: the verified SecretId, or the first failure. */
export type Tc3Result =
  | { ok: true; secretId: string }
  | { ok: false; code: Tc3FailureCode; message: string; secretId?: string };

function header(req: Tc3Request, name: string): string | undefined {
  const v = Object.hasOwn(req.headers, name) ? req.headers[name] : undefined;
  return Array.isArray(v) ? v.join(', ') : v;
}

interface ParsedAuthorization {
  algorithm: string;
  secretId: string;
  date: string;
  service: string;
  terminator: string;
  signedHeaders: string[];
  signature: string;
}

/** Splits `ALG Credential=ID/DATE/SERVICE/tc3_request, SignedHeaders=a;b, Signature=hex`; `undefined` if malformed. */
export function parseAuthorization(value: string): ParsedAuthorization | undefined {
  const m = /^\s*(\S+)\s+(.*)$/s.exec(value);
  if (!m) return undefined;
  const fields = new Map<string, string>();
  for (const part of (m[2] ?? '').split(',')) {
    const eq = part.indexOf('=');
    if (eq === -1) return undefined;
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signed = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credential || !signed || !signature) return undefined;
  const scope = credential.split('/');
  if (scope.length !== 4 || scope.some((s) => s === '')) return undefined;
  const [secretId, date, service, terminator] = scope as [string, string, string, string];
  return {
    algorithm: m[1] ?? '',
    secretId,
    date,
    service,
    terminator,
    signedHeaders: signed.split(';').map((h) => h.trim().toLowerCase()),
    signature: signature.toLowerCase(),
  };
}

/**
 * Verifies a TC3-HMAC-SHA256 request the way the service does, returning the first failure.
 * The scope's service must be the Host's first label, or `ocr`: the official SDKs take the
 * service from the endpoint's first label, so a client pointed at `127.0.0.1:PORT` signs as `127`,
 * while the real endpoint (`ocr.intl.tencentcloudapi.com`) requires `ocr`. Accepting both lets the
 * unmodified SDK and a hand-written client that signs as `ocr` both through.
 */
export function verifyTc3(
  req: Tc3Request,
  lookupSecret: (secretId: string) => Tc3Secret | string | undefined,
  nowSec: number,
): Tc3Result {
  const auth = readAuthorization(req);
  if ('ok' in auth) return auth;
  const timestamp = readTimestamp(req, auth, nowSec);
  if (typeof timestamp !== 'number') return timestamp;
  const hostname = stripPort(header(req, 'host') ?? '').toLowerCase();
  if (auth.service !== firstLabel(hostname) && auth.service !== 'ocr') {
    return invalid(`The credential scope service \`${auth.service}\` does not match the endpoint.`);
  }
  const found = lookupSecret(auth.secretId);
  if (found === undefined) {
    return {
      ok: false,
      code: 'AuthFailure.SecretIdNotFound',
      message: 'The SecretId is not found, please ensure that your SecretId is correct.',
    };
  }
  const secret: Tc3Secret = typeof found === 'string' ? { secretKey: found } : found;
  if (!signatureMatches(req, auth, secret.secretKey, hostname, timestamp)) {
    return {
      ok: false,
      code: 'AuthFailure.SignatureFailure',
      message: 'The provided credentials could not be validated. Please check your signature is correct.',
      secretId: auth.secretId,
    };
  }
  return tokenFailure(req, secret, auth.secretId) ?? { ok: true, secretId: auth.secretId };
}

type Tc3Failure = Extract<Tc3Result, { ok: false }>;

function invalid(message: string): Tc3Failure {
  return { ok: false, code: 'AuthFailure.InvalidAuthorization', message };
}

/** The Authorization header, parsed and checked for form: algorithm, scope, signed headers, signature. */
function readAuthorization(req: Tc3Request): ParsedAuthorization | Tc3Failure {
  const raw = header(req, 'authorization');
  if (!raw) return invalid('The Authorization header is missing.');
  const auth = parseAuthorization(raw);
  if (!auth) return invalid('The Authorization header is malformed.');
  if (auth.algorithm !== TC3_ALGORITHM) {
    return invalid(`The signature algorithm must be ${TC3_ALGORITHM}.`);
  }
  if (auth.terminator !== 'tc3_request') return invalid('The credential scope must end in tc3_request.');
  if (!auth.signedHeaders.includes('content-type') || !auth.signedHeaders.includes('host')) {
    return invalid('SignedHeaders must include content-type and host.');
  }
  if (!/^[0-9a-f]{64}$/.test(auth.signature)) return invalid('The Signature is not 64 hex digits.');
  return auth;
}

/** `X-TC-Timestamp` in Unix seconds, within the allowed clock skew and on the scope's date. */
function readTimestamp(req: Tc3Request, auth: ParsedAuthorization, nowSec: number): number | Tc3Failure {
  const tsText = header(req, 'x-tc-timestamp')?.trim() ?? '';
  if (!/^\d{1,16}$/.test(tsText)) return invalid('X-TC-Timestamp must be Unix seconds.');
  const timestamp = Number(tsText);
  // Before the scope date: a timestamp in milliseconds, or far off, should read as expired, which
  // says what to fix, rather than as a scope mismatch.
  const skew = Math.abs(nowSec - timestamp);
  if (skew > MAX_CLOCK_SKEW_SEC) {
    return {
      ok: false,
      code: 'AuthFailure.SignatureExpire',
      message: `Signature expired, Timestamp ${timestamp} is ${Math.round(skew)} seconds away from the server time ${Math.round(nowSec)}; the limit is ${MAX_CLOCK_SKEW_SEC}.`,
    };
  }
  if (auth.date !== utcDate(timestamp)) {
    return invalid('The credential scope date is not the UTC date of X-TC-Timestamp.');
  }
  return timestamp;
}

/** Recomputes the signature over the request as received and compares it in constant time. */
function signatureMatches(
  req: Tc3Request,
  auth: ParsedAuthorization,
  secretKey: string,
  hostname: string,
  timestamp: number,
): boolean {
  const values: Record<string, string> = Object.create(null);
  for (const name of auth.signedHeaders) values[name] = header(req, name) ?? '';
  values.host = hostname;
  const canonical = canonicalRequest({
    method: req.method,
    path: req.path,
    query: req.query,
    headers: values,
    signedHeaders: auth.signedHeaders,
    payloadHash: sha256Hex(req.rawBody),
  });
  const { kSigning } = deriveSigningKey(secretKey, auth.date, auth.service);
  const expected = Buffer.from(sign(kSigning, stringToSign(timestamp, auth.service, canonical)), 'hex');
  const given = Buffer.from(auth.signature, 'hex');
  return timingSafeEqual(expected, given);
}

/** `X-TC-Token` must be exactly the credential's token: present for temporary ones, absent otherwise. */
function tokenFailure(req: Tc3Request, secret: Tc3Secret, secretId: string): Tc3Failure | undefined {
  const token = header(req, 'x-tc-token');
  if ((token ?? '') === (secret.token ?? '')) return undefined;
  return {
    ok: false,
    code: 'AuthFailure.TokenFailure',
    message: secret.token
      ? 'The token is missing or invalid for these temporary credentials.'
      : 'A token was given for credentials that take none.',
    secretId,
  };
}
