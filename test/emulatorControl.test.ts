import http from 'node:http';
import { CommonClient } from 'tencentcloud-sdk-nodejs-common';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.js';
import { ERROR_ACTIONS } from '../src/ocr/errorActions.js';
import { OCR_ACTION, OCR_VERSION } from '../src/ocr/types.js';
import { type EmulatorHandle, startEmulator } from '../src/sandbox/emulator/emulatorServer.js';
import { ERROR_MESSAGES } from '../src/sandbox/emulator/errors.js';
import { type FaultKind, resolveOptions } from '../src/sandbox/emulator/options.js';
import { parseCredentials, parseFaults, parseLatency } from '../src/sandbox/emulator/parseFlags.js';
import {
  codeOf,
  FIELDS,
  SECRET_ID,
  SECRET_KEY,
  signedCall,
  signedFetch,
  specimenImage,
  truth,
} from './support/emulatorKit.js';

/** The service-level checks (method, size, action, version, region, account), faults, and the control surface. */

const OTHER_ID = 'AKIDemulatortest0002';
const TEMP_ID = 'AKIDemulatortemp0003';
const credentials = [
  { secretId: SECRET_ID, secretKey: SECRET_KEY },
  { secretId: OTHER_ID, secretKey: 'other-key' },
  { secretId: TEMP_ID, secretKey: 'temp-key', token: 'session-token-1' },
];
let emulator: EmulatorHandle;
let body: { ImageBase64: string };
const agent = new http.Agent({ keepAlive: true });

beforeAll(async () => {
  emulator = await startEmulator({ credentials });
  body = { ImageBase64: (await specimenImage(truth())).toString('base64') };
});
afterAll(async () => {
  agent.destroy();
  await emulator.close();
});
beforeEach(() => {
  emulator.configure({
    credentials,
    faults: {},
    accounts: {},
    qps: 0,
    latencyMs: [0, 0],
    maxBodyBytes: 10 * 1024 * 1024,
  });
  emulator.reset();
});

describe('service-level checks', () => {
  it('answers only POST and GET, with the envelope and a RequestId', async () => {
    const put = await fetch(`${emulator.url}/`, { method: 'PUT', body: '{}' });
    expect(put.status).toBe(200);
    expect(put.headers.get('content-type')).toBe('application/json');
    const json = (await put.json()) as { Response: { Error: { Code: string }; RequestId: string } };
    expect(json.Response.Error.Code).toBe('UnsupportedOperation');
    expect(json.Response.RequestId).toBeTruthy();
    // An unsigned GET is a GET the service would look at: its signature is what is wrong.
    const get = (await (await fetch(`${emulator.url}/`)).json()) as { Response: { Error: { Code: string } } };
    expect(get.Response.Error.Code).toBe('AuthFailure.InvalidAuthorization');
  });

  it('a body over maxBodyBytes is RequestSizeLimitExceeded, before the signature is looked at', async () => {
    emulator.configure({ maxBodyBytes: 1000 });
    const res = await signedCall(emulator.url, { ImageBase64: 'A'.repeat(2000) }, { secretKey: 'wrong' });
    expect(codeOf(res)).toBe('RequestSizeLimitExceeded');
  });

  it.each([
    [{ 'X-TC-Action': 'RecognizeHKIDCardOCR' }, 'InvalidAction'],
    [{ 'X-TC-Action': '' }, 'InvalidAction'],
    [{ 'X-TC-Version': '2017-03-12' }, 'NoSuchVersion'],
    [{ 'X-TC-Region': 'mars-north-1' }, 'UnsupportedRegion'],
    [{ 'X-TC-Region': 'ap-singapore' }, 'OK'],
  ])('headers %o → %s', async (headers, code) => {
    expect(codeOf(await signedCall(emulator.url, body, { headers }))).toBe(code);
  });

  it.each([
    'FailedOperation.UnOpenError',
    'ResourceUnavailable.InArrears',
    'ResourceUnavailable.ResourcePackageRunOut',
  ] as const)('account state %s answers that code, for that account only', async (state) => {
    emulator.configure({ accounts: { [SECRET_ID]: state } });
    expect(codeOf(await signedCall(emulator.url, body))).toBe(state);
    expect(codeOf(await signedCall(emulator.url, body, { secretId: OTHER_ID, secretKey: 'other-key' }))).toBe(
      'OK',
    );
  });

  it('temporary credentials need their token, and only they take one', async () => {
    const client = (token?: string) =>
      new CommonClient(`127.0.0.1:${emulator.port}`, OCR_VERSION, {
        credential: { secretId: TEMP_ID, secretKey: 'temp-key', ...(token ? { token } : {}) },
        profile: { httpProfile: { protocol: 'http://', agent } },
      });
    await expect(client('session-token-1').request(OCR_ACTION, body)).resolves.toMatchObject({
      ID: '1234567(8)',
    });
    await expect(client().request(OCR_ACTION, body)).rejects.toMatchObject({
      code: 'AuthFailure.TokenFailure',
    });
    await expect(client('stale-token').request(OCR_ACTION, body)).rejects.toMatchObject({
      code: 'AuthFailure.TokenFailure',
    });
    const withToken = await signedCall(emulator.url, body, { headers: { 'X-TC-Token': 'session-token-1' } });
    expect(codeOf(withToken)).toBe('AuthFailure.TokenFailure');
  });

  it('credentials revoked mid-run answer SecretIdNotFound from the next call on', async () => {
    expect(codeOf(await signedCall(emulator.url, body))).toBe('OK');
    emulator.revoke(SECRET_ID);
    expect(codeOf(await signedCall(emulator.url, body))).toBe('AuthFailure.SecretIdNotFound');
  });
});

describe('faults', () => {
  const apiFaults: FaultKind[] = [
    'FailedOperation.OcrFailed',
    'FailedOperation.DownLoadError',
    'InternalError',
    'FailedOperation.WarningServiceFailed',
    'FailedOperation.UnKnowError',
    'RequestLimitExceeded',
  ];
  it.each(apiFaults)('%s at rate 1 answers that code', async (kind) => {
    emulator.configure({ faults: { [kind]: 1 } });
    expect(codeOf(await signedCall(emulator.url, body))).toBe(kind);
  });

  it("injects any provider code of the error table, in the provider's error shape", async () => {
    const providers = Object.entries(ERROR_ACTIONS).filter(
      ([, r]) => r.source !== 'client' && r.source !== 'ours',
    );
    expect(providers.length).toBeGreaterThan(70);
    for (const [code, rule] of providers) {
      emulator.configure({ faults: { [code]: 1 } });
      const answer = await signedCall(emulator.url, body);
      expect(answer.status, code).toBe(200);
      expect(answer.json.Response.Error?.Code).toBe(code);
      expect(answer.json.Response.Error?.Message.length, code).toBeGreaterThan(10);
      expect(answer.json.Response.RequestId).toMatch(/^[0-9a-f-]{36}$/);
      if (!(code in ERROR_MESSAGES)) expect(answer.json.Response.Error?.Message).toBe(rule.meaning);
    }
    // The same codes by flag and by the control endpoint; our own codes are not the provider's.
    expect(parseFaults('ActionOffline=0.5,UnauthorizedOperation=0.5')).toEqual({
      ActionOffline: 0.5,
      UnauthorizedOperation: 0.5,
    });
    expect(() => parseFaults('Worker.Error=1')).toThrow('unknown fault `Worker.Error`');
    const res = await fetch(`${emulator.url}/_emulator/config`, {
      method: 'POST',
      body: JSON.stringify({ faults: { 'FailedOperation.ImageSizeTooLarge': 1 } }),
    });
    expect(res.status).toBe(200);
    expect(codeOf(await signedCall(emulator.url, body))).toBe('FailedOperation.ImageSizeTooLarge');
  });

  it('http502 answers a gateway HTML page, which the SDK sees as httpCode 502', async () => {
    emulator.configure({ faults: { http502: 1 } });
    const res = await signedFetch(emulator.url, body);
    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toBe('text/html');
    expect(await res.text()).toContain('502 Bad Gateway');
    // Faults are drawn after authentication: an unsigned call still gets its auth error.
    expect((await fetch(`${emulator.url}/`, { method: 'POST', body: '{}' })).status).toBe(200);
    const client = new CommonClient(`127.0.0.1:${emulator.port}`, OCR_VERSION, {
      credential: { secretId: SECRET_ID, secretKey: SECRET_KEY },
      profile: { httpProfile: { protocol: 'http://', agent } },
    });
    await expect(client.request(OCR_ACTION, body)).rejects.toMatchObject({ httpCode: 502 });
  });

  it('drop closes the connection without an answer', async () => {
    emulator.configure({ faults: { drop: 1 } });
    await expect(signedCall(emulator.url, body)).rejects.toThrow();
    expect(emulator.stats().byCode).toEqual({ drop: 1 });
  });

  it('the same seed gives the same faults', async () => {
    const codes = async () => {
      const other = await startEmulator({ credentials, seed: 42, faults: { InternalError: 0.3, drop: 0.2 } });
      const out: string[] = [];
      for (let i = 0; i < 20; i++) {
        out.push(await signedCall(other.url, body).then(codeOf, () => 'drop'));
      }
      await other.close();
      return out;
    };
    const first = await codes();
    expect(await codes()).toEqual(first);
    expect(new Set(first)).toEqual(new Set(['OK', 'InternalError', 'drop']));
  });

  it('latency is added before answering', async () => {
    emulator.configure({ latencyMs: [150, 200] });
    const t0 = performance.now();
    expect(codeOf(await signedCall(emulator.url, body))).toBe('OK');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(145);
  });
});

describe('stats and control endpoints', () => {
  it('counts every API call by code, and reset clears', async () => {
    await signedCall(emulator.url, body);
    await signedCall(emulator.url, body);
    await signedCall(emulator.url, body, { secretKey: 'wrong' });
    await signedCall(emulator.url, {});
    await fetch(`${emulator.url}/_emulator/stats`);
    const res = await fetch(`${emulator.url}/_emulator/stats`);
    const stats = await res.json();
    expect(stats).toEqual({
      calls: 4,
      byCode: { OK: 2, 'AuthFailure.SignatureFailure': 1, MissingParameter: 1 },
      peakPerSecond: 4,
      peakOkPerSecond: 2,
      billed: 2,
      received: 4,
    });
    expect(emulator.stats()).toEqual(stats);
    expect((await fetch(`${emulator.url}/_emulator/reset`, { method: 'POST' })).status).toBe(200);
    expect(emulator.stats()).toEqual({
      calls: 0,
      byCode: {},
      peakPerSecond: 0,
      peakOkPerSecond: 0,
      billed: 0,
      received: 0,
    });
  });

  it('POST /_emulator/config reconfigures a running emulator, and says what is wrong', async () => {
    const post = (cfg: unknown) =>
      fetch(`${emulator.url}/_emulator/config`, { method: 'POST', body: JSON.stringify(cfg) });
    expect((await post({ faults: { InternalError: 1 } })).status).toBe(200);
    expect(codeOf(await signedCall(emulator.url, body))).toBe('InternalError');
    const bad = await post({ qps: -1 });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: '`qps` must be an integer >= 0, got `-1`' });
    const fixed = await post({ port: 1 });
    expect(fixed.status).toBe(400);
    expect(((await fixed.json()) as { error: string }).error).toContain('port');
    expect((await post({ credentials: [] })).status).toBe(200);
    expect(codeOf(await signedCall(emulator.url, body))).toBe('AuthFailure.SecretIdNotFound');
  });

  it('unknown control paths and methods are refused and never reach the API', async () => {
    expect((await fetch(`${emulator.url}/_emulator/nothing`)).status).toBe(404);
    expect((await fetch(`${emulator.url}/_emulator/stats`, { method: 'POST' })).status).toBe(405);
    expect(emulator.stats().calls).toBe(0);
  });
});

describe('logging', () => {
  it('logs calls without card data, image data, URLs or secrets', async () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: 'debug',
      destination: { write: (line: string) => lines.push(line) },
    });
    const logged = await startEmulator({ credentials, logger });
    try {
      expect(codeOf(await signedCall(logged.url, body))).toBe('OK');
      const url = 'http://127.0.0.1:1/card.jpg?X-Amz-Signature=deadbeefcafe';
      expect(codeOf(await signedCall(logged.url, { ImageUrl: url }))).toBe('FailedOperation.DownLoadError');
    } finally {
      await logged.close();
    }
    const text = lines.join('');
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const secret of [
      FIELDS.ID,
      FIELDS.EnLastName,
      FIELDS.CnFirstName,
      'deadbeefcafe',
      body.ImageBase64.slice(0, 40),
      SECRET_KEY,
      SECRET_ID,
    ]) {
      expect(text).not.toContain(secret);
    }
  });
});

describe('option and flag parsing', () => {
  it('parses the CLI flags', () => {
    expect(parseFaults('InternalError=0.1, drop=0.02')).toEqual({ InternalError: 0.1, drop: 0.02 });
    expect(parseFaults('')).toEqual({});
    expect(parseLatency('50-200')).toEqual([50, 200]);
    expect(parseLatency('30')).toEqual([30, 30]);
    expect(parseCredentials('A:k1,B:k2:tok:en')).toEqual([
      { secretId: 'A', secretKey: 'k1' },
      { secretId: 'B', secretKey: 'k2', token: 'tok:en' },
    ]);
  });

  it('says what is wrong, without echoing secrets', () => {
    expect(() => parseFaults('Boom=0.1')).toThrow(
      '--faults: unknown fault `Boom`: give a provider error code (docs/api-errors.md), http502 or drop',
    );
    expect(() => parseFaults('InternalError=2')).toThrow(
      '--faults: the rate of InternalError must be a number from 0 to 1, got `2`',
    );
    expect(() => parseFaults('InternalError=0.7,drop=0.5')).toThrow(/sum to at most 1/);
    expect(() => parseFaults('InternalError')).toThrow(/must be CODE=RATE/);
    expect(() => parseLatency('200-50')).toThrow(/MIN must not exceed MAX/);
    expect(() => parseLatency('fast')).toThrow(/MIN-MAX/);
    let message = '';
    try {
      parseCredentials('A:supersecret,B');
    } catch (thrown) {
      message = (thrown as Error).message;
    }
    expect(message).toBe('--credentials: entry 2 must be ID:KEY or ID:KEY:TOKEN');
    expect(() => resolveOptions({ latencyMs: [5, 1] })).toThrow(
      '`latencyMs` must be [min, max] with 0 <= min <= max, got `[5,1]`',
    );
    expect(() => resolveOptions({ port: 70000 })).toThrow(
      '`port` must be an integer from 0 to 65535, got `70000`',
    );
    expect(() => resolveOptions({ credentials: [{ secretId: 'A', secretKey: '' }] })).toThrow(
      '`credentials[0].secretKey` must be a non-empty string',
    );
  });
});
