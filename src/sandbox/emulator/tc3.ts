import { createHash, createHmac } from 'node:crypto';

/**
 * TC3-HMAC-SHA256, Tencent Cloud API 3.0's request signature (docs/tencent-api.md), written from the
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

/** The hostname's first label: what the official SDKs sign as the service. */
export function firstLabel(hostname: string): string {
  return hostname.split('.')[0] ?? hostname;
}
