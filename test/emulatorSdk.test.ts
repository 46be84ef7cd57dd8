import http from 'node:http';
import { createRequire } from 'node:module';
import { CommonClient } from 'tencentcloud-sdk-nodejs-common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CARD_FIELD_NAMES } from '../src/card/fields.js';
import { OCR_ACTION, OCR_VERSION } from '../src/ocr/types.js';
import { type EmulatorHandle, startEmulator } from '../src/sandbox/emulator/emulatorServer.js';
import { signRequest } from '../src/sandbox/emulator/tc3.js';
import {
  codeOf,
  FIELDS,
  SECRET_ID,
  SECRET_KEY,
  signedCall,
  specimenImage,
  truth,
} from './support/emulatorKit.js';

/** Both official SDKs, unmodified, talk to the emulator as to the real endpoint. */

interface SdkError {
  code?: string;
  requestId?: string;
  httpCode?: number;
}

let emulator: EmulatorHandle;
let image: string;
const agent = new http.Agent({ keepAlive: true });

beforeAll(async () => {
  emulator = await startEmulator({ credentials: [{ secretId: SECRET_ID, secretKey: SECRET_KEY }] });
  image = (await specimenImage(truth())).toString('base64');
});
afterAll(async () => {
  agent.destroy();
  await emulator.close();
});

function commonClient(secretId = SECRET_ID, secretKey = SECRET_KEY): CommonClient {
  // The endpoint's first label, `127`, becomes the signing service (the SDK takes it from the host); the emulator accepts it.
  return new CommonClient(`127.0.0.1:${emulator.port}`, OCR_VERSION, {
    credential: { secretId, secretKey },
    region: 'ap-guangzhou',
    profile: {
      signMethod: 'TC3-HMAC-SHA256',
      language: 'en-US',
      // An explicit agent, so the SDK never routes through `http_proxy`.
      httpProfile: { protocol: 'http://', reqMethod: 'POST', agent },
    },
  });
}

async function sdkError(p: Promise<unknown>): Promise<SdkError> {
  try {
    await p;
  } catch (thrown) {
    return thrown as SdkError;
  }
  throw new Error('expected the call to fail');
}

describe('tencentcloud-sdk-nodejs-common', () => {
  it("returns the specimen's ground truth exactly", async () => {
    const res = (await commonClient().request(OCR_ACTION, { ImageBase64: image })) as Record<string, unknown>;
    for (const name of CARD_FIELD_NAMES) expect(res[name]).toBe(FIELDS[name]);
    expect(res.WarnCardInfos).toEqual([-9108]);
    expect(res.Angle).toBe('0');
    expect(res.RetImage).toBe('');
    expect(res.RequestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('a wrong key is SignatureFailure, an unknown SecretId is SecretIdNotFound, both with a RequestId', async () => {
    const wrong = await sdkError(
      commonClient(SECRET_ID, 'not-the-key').request(OCR_ACTION, { ImageBase64: image }),
    );
    expect(wrong.code).toBe('AuthFailure.SignatureFailure');
    expect(wrong.requestId).toMatch(/^[0-9a-f-]{36}$/);
    const unknown = await sdkError(
      commonClient('AKIDnobody', SECRET_KEY).request(OCR_ACTION, { ImageBase64: image }),
    );
    expect(unknown.code).toBe('AuthFailure.SecretIdNotFound');
  });
});

describe('tencentcloud-sdk-nodejs-intl-en', () => {
  it("its ocr v20181119 client gets the specimen's ground truth", async () => {
    // Its OCR client and common parts only: the package's index loads every product's client.
    const require = createRequire(import.meta.url);
    const intl: IntlSdk = {
      common: require('tencentcloud-sdk-nodejs-intl-en/tencentcloud/common/index.js') as IntlSdk['common'],
      OcrClient:
        require('tencentcloud-sdk-nodejs-intl-en/tencentcloud/ocr/v20181119/ocr_client.js') as IntlSdk['OcrClient'],
    };
    const Client = intl.OcrClient;
    const profile = new intl.common.ClientProfile('TC3-HMAC-SHA256', new intl.common.HttpProfile('http://'));
    profile.httpProfile.endpoint = `127.0.0.1:${emulator.port}`;
    // This SDK takes no agent: it would route through `http_proxy` if one were set.
    const savedProxy = process.env.http_proxy;
    delete process.env.http_proxy;
    try {
      // Without a region this SDK sends `X-TC-Region: null`; give one, as a real caller would.
      const client = new Client(new intl.common.Credential(SECRET_ID, SECRET_KEY), 'ap-hongkong', profile);
      const res = await new Promise<Record<string, unknown>>((resolve, reject) =>
        client.RecognizeMacaoIDCardOCR({ ImageBase64: image }, (err, data) =>
          err ? reject(err) : resolve(data),
        ),
      );
      for (const name of CARD_FIELD_NAMES) expect(res[name]).toBe(FIELDS[name]);
      expect(res.WarnCardInfos).toEqual([-9108]);
      expect(typeof res.RequestId).toBe('string');
    } finally {
      if (savedProxy !== undefined) process.env.http_proxy = savedProxy;
    }
  });
});

interface IntlSdk {
  common: {
    Credential: new (id: string, key: string, token?: string) => unknown;
    HttpProfile: new (protocol?: string) => { endpoint: string | null };
    ClientProfile: new (
      signMethod: string,
      httpProfile: unknown,
    ) => { httpProfile: { endpoint: string | null } };
  };
  OcrClient: new (
    credential: unknown,
    region: string,
    profile: unknown,
  ) => {
    RecognizeMacaoIDCardOCR(
      req: Record<string, string>,
      cb: (err: unknown, data: Record<string, unknown>) => void,
    ): void;
  };
}

describe('signatures checked on the wire', () => {
  it('a stale timestamp is SignatureExpire', async () => {
    const stale = Math.floor(Date.now() / 1000) - 600;
    const res = await signedCall(emulator.url, { ImageBase64: image }, { timestampSec: stale });
    expect(res.status).toBe(200);
    expect(codeOf(res)).toBe('AuthFailure.SignatureExpire');
    expect(res.json.Response.RequestId).toBeTruthy();
  });

  it('a body changed after signing is SignatureFailure', async () => {
    const res = await signedCall(
      emulator.url,
      { ImageBase64: image },
      {
        tamperBody: (b) => {
          b[b.length - 3] = 'A'.charCodeAt(0) === b[b.length - 3] ? 66 : 65;
          return b;
        },
      },
    );
    expect(codeOf(res)).toBe('AuthFailure.SignatureFailure');
  });

  it('our own signer, signing as service `ocr`, is accepted too', async () => {
    const res = await signedCall(emulator.url, { ImageBase64: image }, { service: 'ocr' });
    expect(codeOf(res)).toBe('OK');
    expect(res.json.Response.ID).toBe(FIELDS.ID);
  });
});

describe('GET, as the API page shows it', () => {
  let images: http.Server;
  let imageUrl: string;
  beforeAll(async () => {
    const bytes = await specimenImage(truth());
    images = http.createServer((_req, res) => {
      res.setHeader('Content-Type', 'image/jpeg');
      res.end(bytes);
    });
    await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
    imageUrl = `http://127.0.0.1:${(images.address() as { port: number }).port}/card.jpg`;
  });
  afterAll(async () => {
    await new Promise((resolve) => images.close(resolve));
  });

  it("the official SDK's GET, its parameters in the query string, is answered as its POST", async () => {
    const get = new CommonClient(`127.0.0.1:${emulator.port}`, OCR_VERSION, {
      credential: { secretId: SECRET_ID, secretKey: SECRET_KEY },
      profile: {
        signMethod: 'TC3-HMAC-SHA256',
        httpProfile: { protocol: 'http://', reqMethod: 'GET', agent },
      },
    });
    const res = (await get.request(OCR_ACTION, {
      ImageUrl: imageUrl,
      Config: JSON.stringify({ RetImage: 'preprocess' }),
    })) as Record<string, unknown>;
    for (const name of CARD_FIELD_NAMES) expect(res[name]).toBe(FIELDS[name]);
    // The page's own example asks for `preprocess` and answers an empty RetImage.
    expect(res.RetImage).toBe('');
  });

  it('takes Action and Version as query parameters, and refuses a GET over 32 KB', async () => {
    const host = `127.0.0.1:${emulator.port}`;
    const send = async (query: string): Promise<string> => {
      const headers = signRequest({
        secretId: SECRET_ID,
        secretKey: SECRET_KEY,
        timestampSec: Math.floor(Date.now() / 1000),
        host,
        method: 'GET',
        query,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: Buffer.alloc(0),
      });
      const { Host: _host, ...sendHeaders } = headers;
      const res = await fetch(`http://${host}/?${query}`, { headers: sendHeaders });
      return codeOf({ status: res.status, json: (await res.json()) as never });
    };
    const params = new URLSearchParams({ Action: OCR_ACTION, Version: OCR_VERSION, ImageUrl: imageUrl });
    expect(await send(params.toString())).toBe('OK');
    params.set('Version', '2017-01-01');
    expect(await send(params.toString())).toBe('NoSuchVersion');
    const big = new URLSearchParams({
      Action: OCR_ACTION,
      Version: OCR_VERSION,
      ImageBase64: 'A'.repeat(40_000),
    });
    expect(await send(big.toString())).toBe('RequestSizeLimitExceeded');
  });
});
