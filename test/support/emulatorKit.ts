import http from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import type { MacaoCardFields } from '../../src/card/fields.js';
import { OCR_ACTION, OCR_VERSION } from '../../src/ocr/types.js';
import { SPECIMEN_SCHEMA, type SpecimenTruth, truthToXmp } from '../../src/sandbox/emulator/groundTruth.js';
import { signRequest } from '../../src/sandbox/emulator/tc3.js';

/** Helpers for the emulator tests: specimen-like images, a signed fetch, a tiny image server. */

export const SECRET_ID = 'AKIDemulatortest0001';
export const SECRET_KEY = 'emulator-test-secret-key';

export const FIELDS: MacaoCardFields = {
  CnLastName: '何',
  EnLastName: 'HO',
  LastNameCode: '0149',
  CnFirstName: '志明',
  EnFirstName: 'CHI MENG',
  FirstNameCode: '17942494',
  ID: '1234567(8)',
  Birthday: '22-04-1997',
  Sex: 'M',
  FirstIssueDate: '06-05-2011',
  CurrentIssueDate: '01-08-2014',
  ValidityPeriod: '01-08-2024',
  Symbol: 'A',
  Height: '1.72',
  ResidentType: 'Permanent Resident Identity Card',
};

export function truth(overrides: Partial<SpecimenTruth> = {}): SpecimenTruth {
  return {
    schema: SPECIMEN_SCHEMA,
    specimenId: 's1-000001',
    side: 'front',
    fields: FIELDS,
    warnings: [-9108],
    portrait: { left: 40, top: 60, width: 120, height: 150 },
    width: 640,
    height: 400,
    ...overrides,
  };
}

/** A plain image carrying `t` as XMP, as the specimen renderer's output does; no truth: a "photo that is no card". */
export async function specimenImage(
  t: SpecimenTruth | undefined,
  opts: { width?: number; height?: number; format?: 'jpeg' | 'png' | 'gif' } = {},
): Promise<Buffer> {
  const img = sharp({
    create: {
      width: opts.width ?? t?.width ?? 640,
      height: opts.height ?? t?.height ?? 400,
      channels: 3,
      background: '#8fb4d8',
    },
  });
  const encoded = opts.format === 'png' ? img.png() : opts.format === 'gif' ? img.gif() : img.jpeg();
  return (t ? encoded.withXmp(truthToXmp(t)) : encoded).toBuffer();
}

export interface SignedCallOptions {
  secretId?: string;
  secretKey?: string;
  timestampSec?: number;
  /** Headers besides the signed ones; defaults give the right action and version. */
  headers?: Record<string, string>;
  /** Changes the body after signing (tampering). */
  tamperBody?: (body: Buffer) => Buffer;
  service?: string;
}

export interface CallResult {
  status: number;
  json: {
    Response: Record<string, unknown> & { RequestId?: string; Error?: { Code: string; Message: string } };
  };
}

/** POSTs `body` to the emulator, signed with our own TC3 signer, and parses the envelope. */
export async function signedCall(
  baseUrl: string,
  body: unknown,
  opts: SignedCallOptions = {},
): Promise<CallResult> {
  const res = await signedFetch(baseUrl, body, opts);
  return { status: res.status, json: (await res.json()) as CallResult['json'] };
}

/** POSTs `body` to the emulator, signed with our own TC3 signer; the raw response. */
export async function signedFetch(
  baseUrl: string,
  body: unknown,
  opts: SignedCallOptions = {},
): Promise<Response> {
  const url = new URL(baseUrl);
  const text = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  const headers = signRequest({
    secretId: opts.secretId ?? SECRET_ID,
    secretKey: opts.secretKey ?? SECRET_KEY,
    timestampSec: opts.timestampSec ?? Math.floor(Date.now() / 1000),
    host: url.host,
    headers: { 'X-TC-Action': OCR_ACTION, 'X-TC-Version': OCR_VERSION, ...opts.headers },
    body: text,
    ...(opts.service ? { service: opts.service } : {}),
  });
  const sent = opts.tamperBody ? opts.tamperBody(Buffer.from(text)) : text;
  // fetch forbids setting Host itself; it sends the same host:port.
  const { Host: _host, ...sendHeaders } = headers;
  return fetch(`${baseUrl}/`, { method: 'POST', headers: sendHeaders, body: sent });
}

/** The error code of an answer, or `OK`. */
export function codeOf(result: CallResult): string {
  return result.json.Response.Error?.Code ?? 'OK';
}

/** One route of the image server. */
export interface ImageRoute {
  status?: number;
  body?: Buffer;
  /** Milliseconds before the headers are sent. */
  delayMs?: number;
  /** Send the body in chunks of this size, without Content-Length (streamed). */
  chunked?: number;
}

/** A tiny HTTP server serving fixed routes, for ImageUrl downloads. */
export async function imageServer(
  routes: Record<string, ImageRoute>,
): Promise<{ url: (path: string) => string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const route = routes[req.url ?? ''];
    if (!route) {
      res.writeHead(404).end('not found');
      return;
    }
    const send = () => {
      if (res.destroyed) return;
      const body = route.body ?? Buffer.alloc(0);
      if (route.chunked) {
        res.writeHead(route.status ?? 200, { 'Content-Type': 'image/jpeg' });
        for (let i = 0; i < body.length; i += route.chunked) res.write(body.subarray(i, i + route.chunked));
        res.end();
      } else {
        res.writeHead(route.status ?? 200, { 'Content-Type': 'image/jpeg', 'Content-Length': body.length });
        res.end(body);
      }
    };
    if (route.delayMs) setTimeout(send, route.delayMs);
    else send();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
