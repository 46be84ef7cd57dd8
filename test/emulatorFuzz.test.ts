import http from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OCR_ACTION, OCR_VERSION } from '../src/ocr/types.js';
import { type EmulatorHandle, startEmulator } from '../src/sandbox/emulator/emulatorServer.js';
import { signRequest } from '../src/sandbox/emulator/tc3.js';
import { SECRET_ID, SECRET_KEY, specimenImage, truth } from './support/emulatorKit.js';

/**
 * Property tests over raw HTTP (node:http, so any header, Host included, can be set): whatever
 * arrives, the answer is the service's envelope with a RequestId; and no tampering with a validly
 * signed request gets through.
 */

let emulator: EmulatorHandle;
let image: string;
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

beforeAll(async () => {
  emulator = await startEmulator({
    credentials: [{ secretId: SECRET_ID, secretKey: SECRET_KEY }],
    // Random URLs must never leave the machine, nor wait long.
    downloadTimeoutMs: 200,
  });
  image = (await specimenImage(truth({ width: 64, height: 40 }))).toString('base64');
});
afterAll(async () => {
  agent.destroy();
  await emulator.close();
});

interface RawRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

function send(req: RawRequest): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const r = http.request(
      {
        host: '127.0.0.1',
        port: emulator.port,
        method: req.method,
        path: req.path,
        // Node frames a GET or DELETE body with neither length nor chunking unless told: say the length.
        headers: { ...req.headers, 'Content-Length': String(req.body.length) },
        agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    r.on('error', reject);
    r.end(req.body);
  });
}

function envelope(text: string): { Error?: { Code: string; Message: string }; RequestId?: unknown } {
  return (
    JSON.parse(text) as { Response: { Error?: { Code: string; Message: string }; RequestId?: unknown } }
  ).Response;
}

const printable = (max: number) => fc.string({ unit: 'grapheme-ascii', maxLength: max });
/** Values that stay on this machine: refused ports, or not URLs at all. */
const localUrl = fc.oneof(
  fc.constant('http://127.0.0.1:1/a.jpg'),
  printable(20).map((s) => `http://127.0.0.1:1/${encodeURIComponent(s)}`),
  printable(20),
);
const paramValue = fc.oneof(
  localUrl,
  // The image exists only once beforeAll ran; read it when drawn.
  fc.constant(0).map(() => image),
  fc.base64String({ maxLength: 64 }),
  printable(30),
  fc.integer(),
  fc.constant(null),
  fc.boolean(),
  fc.dictionary(printable(5), printable(5), { maxKeys: 2 }),
  fc.constantFrom('{"RetImage":"portrait"}', '{"RetImage":"x"}', '{', '{}'),
);
const paramName = fc.constantFrom(
  'ImageUrl',
  'ImageBase64',
  'BackImageUrl',
  'BackImageBase64',
  'Config',
  'Other',
);
const jsonBody = fc.dictionary(paramName, paramValue, { maxKeys: 4 }).map((o) => JSON.stringify(o));
const anyBody = fc.oneof(
  jsonBody,
  printable(200),
  fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a).toString('latin1')),
);

const authorization = fc.oneof(
  printable(80),
  fc
    .record({
      alg: fc.constantFrom('TC3-HMAC-SHA256', 'HMAC', ''),
      id: fc.constantFrom(SECRET_ID, 'AKIDnobody', ''),
      date: fc.constantFrom(new Date().toISOString().slice(0, 10), '2019-02-25', 'x'),
      service: fc.constantFrom('127', 'ocr', 'cvm'),
      signed: fc.constantFrom('content-type;host', 'host', 'content-type;host;x-tc-action', ''),
      sig: fc.oneof(fc.stringMatching(/^[0-9a-f]{64}$/), printable(10)),
    })
    .map(
      (a) =>
        `${a.alg} Credential=${a.id}/${a.date}/${a.service}/tc3_request, SignedHeaders=${a.signed}, Signature=${a.sig}`,
    ),
);
const randomHeaders = fc.record(
  {
    authorization,
    'content-type': fc.constantFrom('application/json', 'text/plain', ''),
    'x-tc-action': fc.oneof(fc.constant(OCR_ACTION), printable(20)),
    'x-tc-version': fc.oneof(fc.constant(OCR_VERSION), printable(12)),
    'x-tc-timestamp': fc.oneof(fc.constant(String(Math.floor(Date.now() / 1000))), printable(12)),
    'x-tc-region': fc.oneof(fc.constant('ap-guangzhou'), printable(12)),
    'x-tc-token': printable(20),
  },
  { requiredKeys: [] },
);

describe('fuzz', () => {
  it('random methods, paths, headers and bodies always get the envelope with a RequestId', async () => {
    const before = emulator.stats().calls;
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT', 'DELETE'),
        fc.oneof(
          fc.constant('/'),
          printable(10).map((s) => `/${encodeURIComponent(s)}?${encodeURIComponent(s)}`),
        ),
        randomHeaders,
        anyBody,
        async (method, path, headers, body) => {
          fc.pre(!path.startsWith('/_emulator/'));
          sent++;
          const res = await send({ method, path, headers, body: Buffer.from(body, 'latin1') });
          expect(res.status).toBe(200);
          const response = envelope(res.text);
          expect(typeof response.RequestId).toBe('string');
          expect(response.Error?.Code).toMatch(/^[A-Za-z.]+$/);
          expect(response.Error?.Message).toBeTruthy();
        },
      ),
      { numRuns: 400 },
    );
    expect(emulator.stats().calls - before).toBe(sent);
  });

  it('validly signed requests with random parameters always get the envelope with a RequestId', async () => {
    await fc.assert(
      fc.asyncProperty(jsonBody, async (body) => {
        const res = await send(signed(Buffer.from(body)));
        expect(res.status).toBe(200);
        expect(typeof envelope(res.text).RequestId).toBe('string');
      }),
      { numRuns: 200 },
    );
  });

  it('any tampering of a validly signed request is rejected', async () => {
    const body = Buffer.from(JSON.stringify({ ImageBase64: image }));
    const billedBefore = emulator.stats().billed;
    expect(envelope((await send(signed(body))).text).Error).toBeUndefined();
    const tamper = fc.oneof(
      fc.nat().map((i) => (r: RawRequest) => {
        const b = Buffer.from(r.body);
        const at = i % b.length;
        b[at] = (b[at] ?? 0) ^ 0x20 || 0x41;
        return { ...r, body: b };
      }),
      fc
        .constantFrom('text/plain', 'application/json; charset=utf-8', 'application/x-www-form-urlencoded')
        .map((ct) => (r: RawRequest) => ({ ...r, headers: { ...r.headers, 'Content-Type': ct } })),
      fc
        .constantFrom('127.0.0.2', 'localhost', 'ocr.intl.tencentcloudapi.com')
        .map((h) => (r: RawRequest) => ({ ...r, headers: { ...r.headers, Host: `${h}:${emulator.port}` } })),
      fc.constant((r: RawRequest) => ({
        ...r,
        headers: { ...r.headers, 'X-TC-Action': 'RecognizeMacaoIDCardOCR2' },
      })),
      fc
        .integer({ min: -900, max: 900 })
        .filter((d) => d !== 0)
        .map((d) => (r: RawRequest) => ({
          ...r,
          headers: { ...r.headers, 'X-TC-Timestamp': String(Number(r.headers['X-TC-Timestamp']) + d) },
        })),
      fc.integer({ min: 301, max: 100_000 }).map((age) => (r: RawRequest) => signed(r.body, { ageSec: age })),
      printable(16)
        .filter((k) => k !== SECRET_KEY)
        .map((key) => (r: RawRequest) => signed(r.body, { secretKey: key })),
      fc.constant((r: RawRequest) => signed(r.body, { secretId: 'AKIDsomeoneelse' })),
      // Bytes added to or cut from the end of the body.
      fc.uint8Array({ minLength: 1, maxLength: 8 }).map((extra) => (r: RawRequest) => ({
        ...r,
        body: Buffer.concat([r.body, Buffer.from(extra)]),
      })),
      fc
        .integer({ min: 1, max: 40 })
        .map((cut) => (r: RawRequest) => ({ ...r, body: r.body.subarray(0, -cut) })),
      // The Authorization header's own parts: the signed-header list, the credential scope.
      fc
        .constantFrom('content-type;host', 'host;x-tc-action', 'content-type;host;x-tc-action;x-tc-version')
        .map((list) => (r: RawRequest) => ({
          ...r,
          headers: {
            ...r.headers,
            Authorization: (r.headers.Authorization ?? '').replace(
              /SignedHeaders=[^,]*/,
              `SignedHeaders=${list}`,
            ),
          },
        })),
      fc.constantFrom('/2019-02-25/', '/1999-01-01/').map((date) => (r: RawRequest) => ({
        ...r,
        headers: {
          ...r.headers,
          Authorization: (r.headers.Authorization ?? '').replace(/\/\d{4}-\d{2}-\d{2}\//, date),
        },
      })),
      fc.constantFrom('/ocr/', '/cvm/').map((service) => (r: RawRequest) => ({
        ...r,
        headers: { ...r.headers, Authorization: (r.headers.Authorization ?? '').replace('/127/', service) },
      })),
      fc.nat(63).map((i) => (r: RawRequest) => {
        const auth = r.headers.Authorization ?? '';
        const at = auth.length - 64 + i;
        const flipped = auth[at] === '0' ? '1' : '0';
        return {
          ...r,
          headers: { ...r.headers, Authorization: auth.slice(0, at) + flipped + auth.slice(at + 1) },
        };
      }),
    );
    await fc.assert(
      fc.asyncProperty(tamper, async (change) => {
        const res = await send(change(signed(body)));
        const code = envelope(res.text).Error?.Code;
        expect(code).toMatch(/^AuthFailure\./);
      }),
      { numRuns: 400 },
    );
    // Nothing tampered was recognized, so nothing was billed beyond the one honest call.
    expect(emulator.stats().billed - billedBefore).toBe(1);
  });
});

/** A request signed as the service expects, with `x-tc-action` signed too so that tampering with it shows. */
function signed(
  body: Buffer,
  opts: { ageSec?: number; secretKey?: string; secretId?: string } = {},
): RawRequest {
  const headers = signRequest({
    secretId: opts.secretId ?? SECRET_ID,
    secretKey: opts.secretKey ?? SECRET_KEY,
    timestampSec: Math.floor(Date.now() / 1000) - (opts.ageSec ?? 0),
    host: `127.0.0.1:${emulator.port}`,
    headers: { 'X-TC-Action': OCR_ACTION, 'X-TC-Version': OCR_VERSION },
    signedHeaders: ['content-type', 'host', 'x-tc-action'],
    body,
  });
  return { method: 'POST', path: '/', headers, body };
}
