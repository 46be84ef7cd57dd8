import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  canonicalRequest,
  deriveSigningKey,
  sha256Hex,
  sign,
  signRequest,
  stringToSign,
  utcDate,
} from '../src/sandbox/emulator/tc3.js';
import { parseAuthorization, type Tc3Request, verifyTc3 } from '../src/sandbox/emulator/tc3Verify.js';

/** The official SDK's signer, loaded as the SDK loads it (CommonJS). */
const require = createRequire(import.meta.url);
const Sign = (require('tencentcloud-sdk-nodejs-common/tencentcloud/common/sign.js') as { default: SdkSign })
  .default;
interface SdkSign {
  sign3(input: {
    method?: string;
    url?: string;
    payload: unknown;
    timestamp: number;
    service: string;
    secretId: string;
    secretKey: string;
    multipart: boolean;
    boundary?: string;
    headers: Record<string, string>;
  }): string;
}

// docs/tencent-api.md: the body's `\u` escapes are literal bytes, not the characters they name.
const VECTOR_BODY =
  '{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}';
const VECTOR_KEY = 'Gu5t9xGARNpq86cd98joQYCN3EXAMPLE';
const VECTOR_TS = 1551113065;

describe('TC3 signing vectors (docs/tencent-api.md)', () => {
  it('A: content-type;host', () => {
    const payloadHash = sha256Hex(VECTOR_BODY);
    expect(payloadHash).toBe('35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064');
    const canonical = canonicalRequest({
      method: 'POST',
      path: '/',
      query: '',
      headers: { 'content-type': 'application/json; charset=utf-8', host: 'cvm.tencentcloudapi.com' },
      signedHeaders: ['content-type', 'host'],
      payloadHash,
    });
    expect(sha256Hex(canonical)).toBe('5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031');
    expect(utcDate(VECTOR_TS)).toBe('2019-02-25');
    const { kSigning } = deriveSigningKey(VECTOR_KEY, '2019-02-25', 'cvm');
    expect(sign(kSigning, stringToSign(VECTOR_TS, 'cvm', canonical))).toBe(
      '72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168',
    );
  });

  it('B: x-tc-action signed too, with the derived keys', () => {
    const canonical = canonicalRequest({
      method: 'POST',
      path: '/',
      query: '',
      headers: {
        'content-type': 'application/json; charset=utf-8',
        host: 'cvm.tencentcloudapi.com',
        'x-tc-action': 'DescribeInstances',
      },
      signedHeaders: ['content-type', 'host', 'x-tc-action'],
      payloadHash: sha256Hex(VECTOR_BODY),
    });
    expect(sha256Hex(canonical)).toBe('7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84');
    // The provider's current page masks this vector's SecretKey as 32 asterisks, and signs with that.
    const keys = deriveSigningKey('*'.repeat(32), '2019-02-25', 'cvm');
    expect(keys.kDate.toString('hex')).toBe(
      'da98fb70dcf6b112dc21038d1eeeb3a95c74b4dcb12c1131f864f6066bd02be0',
    );
    expect(keys.kService.toString('hex')).toBe(
      '8d70cbefb03939f929db64d32dc2ba89b1095620119fe3e050e2b18c5bd2752f',
    );
    expect(keys.kSigning.toString('hex')).toBe(
      'b596b923aad85185e2d1f6659d2a062e0a86731226e021e61bfe06f7ed05f5af',
    );
    expect(sign(keys.kSigning, stringToSign(VECTOR_TS, 'cvm', canonical))).toBe(
      '10b1a37a7301a02ca19a647ad722d5e43b4b3cff309d421d85b46093f6ab6c4f',
    );
  });

  it("C: the Node SDK's own unit test", () => {
    const body = '{"Action":"DescribeInstances","Version":"2017-03-12"}';
    const canonical = canonicalRequest({
      method: 'POST',
      path: '/',
      query: '',
      headers: { 'content-type': 'application/json', host: 'cvm.tencentcloudapi.com' },
      signedHeaders: ['content-type', 'host'],
      payloadHash: sha256Hex(body),
    });
    const { kSigning } = deriveSigningKey('test-secret-key', utcDate(1640995200), 'cvm');
    expect(utcDate(1640995200)).toBe('2022-01-01');
    expect(sign(kSigning, stringToSign(1640995200, 'cvm', canonical))).toBe(
      '96473b50fe407833672a5d6d067238d88bb44c8abcc39ef83baa3132afbfadd3',
    );
  });
});

describe('verifyTc3', () => {
  const SECRET_ID = 'AKIDtest';
  const SECRET_KEY = 'test-key';
  const lookup = (id: string) => (id === SECRET_ID ? SECRET_KEY : undefined);
  const now = 1_700_000_000;
  const host = '127.0.0.1:45678';
  const body = Buffer.from('{"ImageUrl":"http://127.0.0.1:1/a.jpg"}');

  /** A request exactly as the official SDK's `Sign.sign3` signs it (CommonClient's headers). */
  function sdkSigned(overrides: { timestamp?: number; secretKey?: string } = {}): Tc3Request {
    const timestamp = overrides.timestamp ?? now;
    const headers: Record<string, string> = {
      Host: host,
      'X-TC-Action': 'RecognizeMacaoIDCardOCR',
      'X-TC-Timestamp': String(timestamp),
      'X-TC-Version': '2018-11-19',
      'Content-Type': 'application/json',
    };
    const authorization = Sign.sign3({
      method: 'POST',
      url: `http://${host}/`,
      payload: JSON.parse(body.toString()),
      timestamp,
      service: '127',
      secretId: SECRET_ID,
      secretKey: overrides.secretKey ?? SECRET_KEY,
      multipart: false,
      headers,
    });
    const lower: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...headers, Authorization: authorization })) {
      lower[k.toLowerCase()] = v;
    }
    return { method: 'POST', path: '/', query: '', headers: lower, rawBody: Buffer.from(body) };
  }

  it("accepts a request signed by the official SDK's Sign.sign3", () => {
    expect(verifyTc3(sdkSigned(), lookup, now)).toEqual({ ok: true, secretId: SECRET_ID });
  });

  it('accepts our own signer, signing as `ocr` or with x-tc-action signed', () => {
    for (const extra of [{ service: 'ocr' }, { signedHeaders: ['content-type', 'host', 'x-tc-action'] }]) {
      const headers = signRequest({
        secretId: SECRET_ID,
        secretKey: SECRET_KEY,
        timestampSec: now,
        host,
        headers: { 'X-TC-Action': 'RecognizeMacaoIDCardOCR' },
        body,
        ...extra,
      });
      const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
      expect(
        verifyTc3({ method: 'POST', path: '/', query: '', headers: lower, rawBody: body }, lookup, now).ok,
      ).toBe(true);
    }
  });

  it('rejects a tampered body', () => {
    const req = sdkSigned();
    const tampered = Buffer.from(req.rawBody);
    tampered[10] = (tampered[10] ?? 0) ^ 1;
    expect(verifyTc3({ ...req, rawBody: tampered }, lookup, now)).toMatchObject({
      ok: false,
      code: 'AuthFailure.SignatureFailure',
    });
  });

  it('rejects a tampered signed header', () => {
    const req = sdkSigned();
    expect(
      verifyTc3({ ...req, headers: { ...req.headers, 'content-type': 'text/plain' } }, lookup, now),
    ).toMatchObject({ ok: false, code: 'AuthFailure.SignatureFailure' });
    expect(
      verifyTc3({ ...req, headers: { ...req.headers, host: 'localhost:45678' } }, lookup, now),
    ).toMatchObject({ ok: false, code: 'AuthFailure.InvalidAuthorization' });
  });

  it('ignores the Host port, which the signature does not cover', () => {
    const req = sdkSigned();
    expect(verifyTc3({ ...req, headers: { ...req.headers, host: '127.0.0.1:1' } }, lookup, now).ok).toBe(
      true,
    );
  });

  it('rejects a stale timestamp and a timestamp moved after signing', () => {
    expect(verifyTc3(sdkSigned({ timestamp: now - 301 }), lookup, now)).toMatchObject({
      code: 'AuthFailure.SignatureExpire',
    });
    expect(verifyTc3(sdkSigned({ timestamp: now + 301 }), lookup, now)).toMatchObject({
      code: 'AuthFailure.SignatureExpire',
    });
    expect(verifyTc3(sdkSigned({ timestamp: now - 300 }), lookup, now).ok).toBe(true);
    // Milliseconds by mistake: expired, which points at the fix, and no crash on the absurd date.
    expect(verifyTc3(sdkSigned({ timestamp: now * 1000 }), lookup, now)).toMatchObject({
      code: 'AuthFailure.SignatureExpire',
    });
    const req = sdkSigned();
    expect(
      verifyTc3({ ...req, headers: { ...req.headers, 'x-tc-timestamp': String(now + 1) } }, lookup, now),
    ).toMatchObject({ code: 'AuthFailure.SignatureFailure' });
  });

  it('rejects a wrong secret key and an unknown SecretId', () => {
    expect(verifyTc3(sdkSigned({ secretKey: 'wrong' }), lookup, now)).toMatchObject({
      code: 'AuthFailure.SignatureFailure',
    });
    expect(verifyTc3(sdkSigned(), () => undefined, now)).toMatchObject({
      code: 'AuthFailure.SecretIdNotFound',
    });
  });

  it('checks the token of temporary credentials', () => {
    const req = sdkSigned();
    const withToken = (id: string) =>
      id === SECRET_ID ? { secretKey: SECRET_KEY, token: 'tok' } : undefined;
    expect(verifyTc3(req, withToken, now)).toMatchObject({ code: 'AuthFailure.TokenFailure' });
    expect(verifyTc3({ ...req, headers: { ...req.headers, 'x-tc-token': 'tok' } }, withToken, now).ok).toBe(
      true,
    );
    expect(
      verifyTc3({ ...req, headers: { ...req.headers, 'x-tc-token': 'nope' } }, withToken, now),
    ).toMatchObject({ code: 'AuthFailure.TokenFailure' });
    expect(
      verifyTc3({ ...req, headers: { ...req.headers, 'x-tc-token': 'tok' } }, lookup, now),
    ).toMatchObject({ code: 'AuthFailure.TokenFailure' });
  });

  it('answers InvalidAuthorization for malformed or incomplete Authorization', () => {
    const req = sdkSigned();
    const auth = String(req.headers.authorization);
    const cases = [
      undefined,
      'garbage',
      auth.replace('TC3-HMAC-SHA256', 'TC3-HMAC-SHA1'),
      auth.replace('content-type;host', 'host'),
      auth.replace('tc3_request', 'tc4_request'),
      auth.replace(utcDate(now), '2001-01-01'),
      auth.replace('/127/', '/cvm/'),
    ];
    for (const authorization of cases) {
      expect(verifyTc3({ ...req, headers: { ...req.headers, authorization } }, lookup, now)).toMatchObject({
        code: 'AuthFailure.InvalidAuthorization',
      });
    }
  });

  it('parses the Authorization header', () => {
    expect(
      parseAuthorization(
        'TC3-HMAC-SHA256 Credential=AKID/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=ABCD',
      ),
    ).toEqual({
      algorithm: 'TC3-HMAC-SHA256',
      secretId: 'AKID',
      date: '2019-02-25',
      service: 'cvm',
      terminator: 'tc3_request',
      signedHeaders: ['content-type', 'host'],
      signature: 'abcd',
    });
  });
});
