import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * TC3-HMAC-SHA256, Tencent Cloud API 3.0's request signature (FACTS.md §1), written from the
 * published description rather than borrowed from the SDK, so that the emulator checks the SDK
 * instead of agreeing with it by construction. The signing half serves tests and tools that
 * speak to the emulator without the SDK.
 */

export const TC3_ALGORITHM = 'TC3-HMAC-SHA256';

/** How far `X-TC-Timestamp` may be from the server clock, in seconds (the service's 5 minutes). */
export const MAX_CLOCK_SKEW_SEC = 300;

/** Lowercase hex SHA-256. */
export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** The UTC calendar date `YYYY-MM-DD` of a Unix timestamp in seconds: the credential scope's date. */
export function utcDate(timestampSec: number): string {
  return new Date(timestampSec * 1000).toISOString().slice(0, 10);
}

/** One header as it enters the canonical request: lowercase name, value lowercased and trimmed. */
export function canonicalHeaderLine(name: string, value: string): string {
  return `${name.toLowerCase()}:${value.trim().toLowerCase()}\n`;
}

/** What {@link canonicalRequest} needs. */
export interface CanonicalRequestInput {
  /** HTTP method, e.g. `POST`. */
  method: string;
  /** URL path, `/` for API 3.0. */
  path: string;
  /** Query string without `?`, empty for POST. */
  query: string;
  /** Values of the signed headers, by lowercase name; `host` without the port. */
  headers: Readonly<Record<string, string>>;
  /** Lowercase names in the order they are listed in `SignedHeaders` (sorted, by convention). */
  signedHeaders: readonly string[];
  /** {@link sha256Hex} of the raw body bytes. */
  payloadHash: string;
}

/** Step 1: the canonical request text. */
export function canonicalRequest(input: CanonicalRequestInput): string {
  // Own keys only: a header named `constructor` must not read Object.prototype.
  const lines = input.signedHeaders.map((name) =>
    canonicalHeaderLine(name, Object.hasOwn(input.headers, name) ? (input.headers[name] ?? '') : ''),
  );
  return [
    input.method.toUpperCase(),
    input.path,
    input.query,
    lines.join(''),
    input.signedHeaders.join(';'),
    input.payloadHash,
  ].join('\n');
}

/** Step 2: the string to sign. The scope date is derived from the timestamp, as the protocol requires. */
export function stringToSign(timestampSec: number, service: string, canonicalRequestText: string): string {
  return [
    TC3_ALGORITHM,
    String(timestampSec),
    `${utcDate(timestampSec)}/${service}/tc3_request`,
    sha256Hex(canonicalRequestText),
  ].join('\n');
}

/** The three keys of step 3; `kSigning` signs. */
export interface DerivedKeys {
  kDate: Buffer;
  kService: Buffer;
  kSigning: Buffer;
}

/** Step 3: `kDate = HMAC("TC3" + key, date)`, `kService = HMAC(kDate, service)`, `kSigning = HMAC(kService, "tc3_request")`. */
export function deriveSigningKey(secretKey: string, date: string, service: string): DerivedKeys {
  const kDate = hmac(`TC3${secretKey}`, date);
  const kService = hmac(kDate, service);
  const kSigning = hmac(kService, 'tc3_request');
  return { kDate, kService, kSigning };
}

/** Step 4: the hex signature of a string to sign. */
export function sign(kSigning: Buffer, stringToSignText: string): string {
  return createHmac('sha256', kSigning).update(stringToSignText, 'utf8').digest('hex');
}

/** The `Authorization` header value. */
export function authorizationHeader(
  secretId: string,
  date: string,
  service: string,
  signedHeaders: readonly string[],
  signature: string,
): string {
  return `${TC3_ALGORITHM} Credential=${secretId}/${date}/${service}/tc3_request, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}`;
}

/** What {@link signRequest} needs: one request, signed as the official SDKs sign it. */
export interface SignRequestInput {
  secretId: string;
  secretKey: string;
  /** Unix seconds; becomes `X-TC-Timestamp`. */
  timestampSec: number;
  /** `host[:port]` as sent in the Host header; the signature covers the hostname without the port. */
  host: string;
  /** Scope service; default the hostname's first label, as the SDKs derive it. */
  service?: string;
  /** Default `POST`. */
  method?: string;
  /** Default `/`. */
  path?: string;
  /** Default empty. */
  query?: string;
  /** Further headers to send (e.g. `X-TC-Action`), any case; `Content-Type` defaults to `application/json`. */
  headers?: Readonly<Record<string, string>>;
  /** Lowercase names to sign; default `content-type;host`, like the Node SDK. */
  signedHeaders?: readonly string[];
  body: string | Buffer;
}

/** Headers to send (Host, Content-Type, X-TC-Timestamp, Authorization and the given ones) for a signed request. */
export function signRequest(input: SignRequestInput): Record<string, string> {
  const hostname = stripPort(input.host);
  const service = input.service ?? firstLabel(hostname);
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    ...input.headers,
    Host: input.host,
    'X-TC-Timestamp': String(input.timestampSec),
  };
  const lower: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(headers)) lower[k.toLowerCase()] = v;
  lower.host = hostname;
  const signedHeaders = input.signedHeaders ?? ['content-type', 'host'];
  const canonical = canonicalRequest({
    method: input.method ?? 'POST',
    path: input.path ?? '/',
    query: input.query ?? '',
    headers: lower,
    signedHeaders,
    payloadHash: sha256Hex(input.body),
  });
  const date = utcDate(input.timestampSec);
  const { kSigning } = deriveSigningKey(input.secretKey, date, service);
  const signature = sign(kSigning, stringToSign(input.timestampSec, service, canonical));
  headers.Authorization = authorizationHeader(input.secretId, date, service, signedHeaders, signature);
  return headers;
}

/** `host:port` → `host`; keeps a bracketed IPv6 literal whole (`[::1]:80` → `[::1]`), as `URL.hostname` does. */
export function stripPort(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end === -1 ? host : host.slice(0, end + 1);
  }
  const colon = host.indexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

function firstLabel(hostname: string): string {
  return hostname.split('.')[0] ?? hostname;
}

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

export type Tc3FailureCode =
  | 'AuthFailure.InvalidAuthorization'
  | 'AuthFailure.SecretIdNotFound'
  | 'AuthFailure.SignatureExpire'
  | 'AuthFailure.SignatureFailure'
  | 'AuthFailure.TokenFailure';

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
  const invalid = (message: string): Tc3Result => ({
    ok: false,
    code: 'AuthFailure.InvalidAuthorization',
    message,
  });
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
  const tsText = header(req, 'x-tc-timestamp')?.trim() ?? '';
  if (!/^\d{1,12}$/.test(tsText)) return invalid('X-TC-Timestamp must be Unix seconds.');
  const timestamp = Number(tsText);
  if (auth.date !== utcDate(timestamp)) {
    return invalid('The credential scope date is not the UTC date of X-TC-Timestamp.');
  }
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
  const skew = Math.abs(nowSec - timestamp);
  if (skew > MAX_CLOCK_SKEW_SEC) {
    return {
      ok: false,
      code: 'AuthFailure.SignatureExpire',
      message: `Signature expired, Timestamp ${timestamp} is ${Math.round(skew)} seconds away from the server time ${Math.round(nowSec)}; the limit is ${MAX_CLOCK_SKEW_SEC}.`,
      secretId: auth.secretId,
    };
  }
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
  const { kSigning } = deriveSigningKey(secret.secretKey, auth.date, auth.service);
  const expected = Buffer.from(sign(kSigning, stringToSign(timestamp, auth.service, canonical)), 'hex');
  const given = Buffer.from(auth.signature, 'hex');
  if (!timingSafeEqual(expected, given)) {
    return {
      ok: false,
      code: 'AuthFailure.SignatureFailure',
      message: 'The provided credentials could not be validated. Please check your signature is correct.',
      secretId: auth.secretId,
    };
  }
  const token = header(req, 'x-tc-token');
  if ((token ?? '') !== (secret.token ?? '')) {
    return {
      ok: false,
      code: 'AuthFailure.TokenFailure',
      message: secret.token
        ? 'The token is missing or invalid for these temporary credentials.'
        : 'A token was given for credentials that take none.',
      secretId: auth.secretId,
    };
  }
  return { ok: true, secretId: auth.secretId };
}
