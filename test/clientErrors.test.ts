import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type CallRecord, createOcrClient, type OcrClient } from '../src/ocr/client.js';
import { actionFor } from '../src/ocr/errorActions.js';
import { isOcrError, type OcrError } from '../src/ocr/OcrError.js';
import type { RecognizeMacaoIDCardOCRRequest } from '../src/ocr/types.js';
import { type EmulatorHandle, startEmulator } from '../src/sandbox/emulator/emulatorServer.js';
import { specimenImage, truth } from './support/emulatorKit.js';
import { spawnEmulator } from './support/processes.js';

const CRED = { secretId: 'AKIDclienttest000001', secretKey: 'client-test-secret-key' };

/** Answers ImageUrl downloads: `/big` is 8 MB, `/empty` is 0 bytes. */
async function imageServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const big = Buffer.alloc(8 * 1024 * 1024, 7);
  const srv = http.createServer((req, res) => {
    const body = req.url === '/big' ? big : Buffer.alloc(0);
    res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': body.length });
    res.end(body);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
    close: () => new Promise((r) => srv.close(() => r())),
  };
}

describe('our client against the emulator: every error code, by a real condition where one exists', () => {
  let emu: EmulatorHandle;
  let client: OcrClient;
  let images: Awaited<ReturnType<typeof imageServer>>;
  let card: string;
  let noCard: string;

  beforeAll(async () => {
    emu = await startEmulator({ credentials: [CRED] });
    client = createOcrClient({ ...CRED, endpoint: emu.url, timeoutMs: 5000 });
    images = await imageServer();
    card = (await specimenImage(truth())).toString('base64');
    noCard = (await specimenImage(undefined)).toString('base64');
  });
  afterAll(async () => {
    client?.close();
    await images?.close();
    await emu?.close();
  });
  beforeEach(() => {
    emu.reset();
    emu.configure({ faults: {}, accounts: {}, qps: 0, latencyMs: [0, 0] });
  });

  const fail = async (p: Promise<unknown>): Promise<OcrError> => {
    const e = await p.then(
      () => undefined,
      (x: unknown) => x,
    );
    if (!isOcrError(e)) throw new Error(`expected an OcrError, got ${String(e)}`);
    return e;
  };

  type Case = [code: string, action: string, act: () => Promise<unknown>, setup?: () => void];
  const wire = (p: () => RecognizeMacaoIDCardOCRRequest) => () => client.recognizeWire(p());
  const cases: Case[] = [
    ['FailedOperation.DownLoadError', 'retry', wire(() => ({ ImageUrl: 'http://127.0.0.1:1/card.jpg' }))],
    [
      'FailedOperation.EmptyImageError',
      'reject',
      () => client.recognize({ front: { url: `${images.url}/empty` } }),
    ],
    [
      'FailedOperation.ImageDecodeFailed',
      'reject',
      wire(() => ({ ImageBase64: Buffer.from('not an image at all').toString('base64') })),
    ],
    ['FailedOperation.ImageNoSpecifiedCard', 'reject', () => client.recognize({ front: { base64: noCard } })],
    [
      'FailedOperation.OcrFailed',
      'retry',
      wire(() => ({ ImageBase64: card })),
      () => emu.configure({ faults: { 'FailedOperation.OcrFailed': 1 } }),
    ],
    [
      'FailedOperation.UnKnowError',
      'retry',
      wire(() => ({ ImageBase64: card })),
      () => emu.configure({ faults: { 'FailedOperation.UnKnowError': 1 } }),
    ],
    [
      'FailedOperation.UnOpenError',
      'fatal',
      wire(() => ({ ImageBase64: card })),
      () => emu.configure({ accounts: { [CRED.secretId]: 'FailedOperation.UnOpenError' } }),
    ],
    [
      'FailedOperation.WarningServiceFailed',
      'retry',
      wire(() => ({ ImageBase64: card })),
      () => emu.configure({ faults: { 'FailedOperation.WarningServiceFailed': 1 } }),
    ],
    [
      'InvalidParameter.ConfigFormatError',
      'fatal',
      wire(() => ({ ImageBase64: card, Config: '{RetImage: portrait' })),
    ],
    [
      'InvalidParameterValue.InvalidParameterValueLimit',
      'fatal',
      wire(() => ({ ImageBase64: card, Config: '{"RetImage":"everything"}' })),
    ],
    [
      'LimitExceeded.TooLargeFileError',
      'reject',
      () => client.recognize({ front: { url: `${images.url}/big` } }),
    ],
    ['MissingParameter', 'fatal', wire(() => ({}))],
    [
      'RequestSizeLimitExceeded',
      'reject',
      wire(() => ({ ImageBase64: 'A'.repeat(6_000_000), BackImageBase64: 'A'.repeat(5_000_000) })),
    ],
    [
      'InternalError',
      'retry',
      wire(() => ({ ImageBase64: card })),
      () => emu.configure({ faults: { InternalError: 1 } }),
    ],
    [
      'RequestLimitExceeded',
      'throttle',
      wire(() => ({ ImageBase64: card })),
      () => emu.configure({ faults: { RequestLimitExceeded: 1 } }),
    ],
    [
      'ResourceUnavailable.InArrears',
      'fatal',
      wire(() => ({ ImageBase64: card })),
      () => emu.configure({ accounts: { [CRED.secretId]: 'ResourceUnavailable.InArrears' } }),
    ],
    [
      'ResourceUnavailable.ResourcePackageRunOut',
      'fatal',
      wire(() => ({ ImageBase64: card })),
      () => emu.configure({ accounts: { [CRED.secretId]: 'ResourceUnavailable.ResourcePackageRunOut' } }),
    ],
    [
      'AuthFailure.SignatureFailure',
      'fatal',
      () =>
        createOcrClient({ secretId: CRED.secretId, secretKey: 'wrong', endpoint: emu.url }).recognize({
          front: { base64: card },
        }),
    ],
    [
      'AuthFailure.SecretIdNotFound',
      'fatal',
      () =>
        createOcrClient({ secretId: 'AKIDnobody', secretKey: 'x', endpoint: emu.url }).recognize({
          front: { base64: card },
        }),
    ],
    [
      'AuthFailure.TokenFailure',
      'fatal',
      () =>
        createOcrClient({ ...CRED, sessionToken: 'stolen', endpoint: emu.url }).recognize({
          front: { base64: card },
        }),
    ],
    [
      'UnsupportedRegion',
      'fatal',
      () =>
        createOcrClient({ ...CRED, region: 'mars-north-1', endpoint: emu.url }).recognize({
          front: { base64: card },
        }),
    ],
    [
      'ClientError.HttpStatus.502',
      'retry',
      wire(() => ({ ImageBase64: card })),
      () => emu.configure({ faults: { http502: 1 } }),
    ],
    [
      'ClientError.Network',
      'retry',
      wire(() => ({ ImageBase64: card })),
      () => emu.configure({ faults: { drop: 1 } }),
    ],
    [
      'ClientError.Timeout',
      'retry',
      () =>
        createOcrClient({ ...CRED, endpoint: emu.url, timeoutMs: 200 }).recognize({
          front: { base64: card },
        }),
      () => emu.configure({ latencyMs: [800, 800] }),
    ],
  ];

  it.each(cases)('%s → %s', async (code, action, act, setup) => {
    setup?.();
    const e = await fail(act());
    expect(e.code).toBe(code);
    expect(e.action).toBe(action);
    expect(actionFor(code)).toBe(action);
    if (!code.startsWith('ClientError.')) expect(e.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(e.message).not.toContain(CRED.secretKey);
    expect(e.message).not.toContain(card.slice(0, 64));
  });

  it('recognizes a specimen and returns every field of the API page', async () => {
    const r = await client.recognize({ front: { base64: card } }, {});
    expect(r).toMatchObject({ ...truth().fields, WarnCardInfos: [-9108], RetImage: '' });
    expect(r.RequestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('cancels a call when its signal aborts', async () => {
    emu.configure({ latencyMs: [1000, 1000] });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const e = await fail(client.recognize({ front: { base64: card } }, { signal: ac.signal }));
    expect(e.code).toBe('ClientError.Aborted');
    expect(e.action).toBe('retry');
  });

  it('ignores http_proxy unless a proxy is configured (the SDK would use it silently)', async () => {
    const before = process.env.http_proxy;
    process.env.http_proxy = 'http://127.0.0.1:9'; // nothing listens there
    try {
      const c = createOcrClient({ ...CRED, endpoint: emu.url });
      expect((await c.recognize({ front: { base64: card } })).ID).toBe(truth().fields.ID);
      c.close();
    } finally {
      if (before === undefined) delete process.env.http_proxy;
      else process.env.http_proxy = before;
    }
  });

  it('counts every HTTP exchange through the hooks, each after the rate limiter', async () => {
    const order: string[] = [];
    const calls: CallRecord[] = [];
    await client.recognize(
      { front: { base64: card } },
      {
        beforeCall: async () => void order.push('acquire'),
        onCall: (r) => {
          order.push('call');
          calls.push(r);
        },
      },
    );
    expect(order).toEqual(['acquire', 'call']);
    expect(calls[0]).toMatchObject({ code: 'OK' });
  });

  it('tells the limiter when the request has left: once, after it was written, before its answer', async () => {
    // Answers take 200 ms; a new connection, so the request leaves only once connected.
    emu.configure({ latencyMs: [200, 200], faults: { 'FailedOperation.OcrFailed': 1 } });
    const c = createOcrClient({ ...CRED, endpoint: emu.url });
    const order: string[] = [];
    let asked = 0;
    await expect(
      c.recognize(
        { front: { base64: card } },
        {
          beforeCall: async () => {
            order.push('acquire');
            asked = performance.now();
            return () => order.push(`sent after ${performance.now() - asked < 150 ? '< 150' : '>= 150'} ms`);
          },
          onCall: (r) => order.push(r.code),
        },
      ),
    ).rejects.toMatchObject({ code: 'FailedOperation.OcrFailed' });
    expect(order).toEqual(['acquire', 'sent after < 150 ms', 'FailedOperation.OcrFailed']);
    c.close();
  });
});

describe('AuthFailure.SignatureExpire: signed afresh once, then fatal', () => {
  let child: ChildProcess;
  let url: string;
  beforeAll(async () => {
    // The emulator in a process of its own, so that only this process's clock is moved.
    ({ child, url } = await spawnEmulator(CRED));
  });
  afterAll(() => {
    vi.useRealTimers();
    child?.kill('SIGTERM');
  });

  it('re-signs with a fresh timestamp and succeeds when the clock was off for one call only', async () => {
    const image = (await specimenImage(truth())).toString('base64');
    const client = createOcrClient({ ...CRED, endpoint: url });
    const codes: string[] = [];
    let first = true;
    const r = await client.recognize(
      { front: { base64: image } },
      {
        beforeCall: async () => {
          if (first) vi.useFakeTimers({ now: Date.now() - 10 * 60_000, toFake: ['Date'] });
          else vi.useRealTimers();
          first = false;
        },
        onCall: (c) => codes.push(c.code),
      },
    );
    vi.useRealTimers();
    expect(codes).toEqual(['AuthFailure.SignatureExpire', 'OK']);
    expect(r.ID).toBe(truth().fields.ID);
    client.close();
  });

  it('is fatal when the clock stays off', async () => {
    const image = (await specimenImage(truth())).toString('base64');
    const client = createOcrClient({ ...CRED, endpoint: url });
    const codes: string[] = [];
    vi.useFakeTimers({ now: Date.now() - 10 * 60_000, toFake: ['Date'] });
    const e = await client
      .recognize({ front: { base64: image } }, { onCall: (c) => codes.push(c.code) })
      .catch((x: unknown) => x);
    vi.useRealTimers();
    expect(codes).toEqual(['AuthFailure.SignatureExpire', 'AuthFailure.SignatureExpire']);
    expect((e as OcrError).action).toBe('fatal');
    client.close();
  });
});
