import { randomUUID } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { CommonClient } from 'tencentcloud-sdk-nodejs-common';
import { DEFAULTS } from '../defaults.js';
import { parseEndpoint } from '../endpoint.js';
import { credentialFingerprint, maskSecretId } from '../maskSecrets.js';
import { CLIENT_CODES, ruleFor } from './errorActions.js';
import { OcrError } from './OcrError.js';
import {
  OCR_ACTION,
  OCR_VERSION,
  type RecognizeMacaoIDCardOCRRequest,
  type RecognizeMacaoIDCardOCRResponse,
  type RecognizeRequest,
  toWireRequest,
} from './types.js';

/** Options of {@link createOcrClient}. */
export interface OcrClientOptions {
  /** `TENCENTCLOUD_SECRET_ID`. */
  secretId: string;
  /** `TENCENTCLOUD_SECRET_KEY`. */
  secretKey: string;
  /** `TENCENTCLOUD_SESSION_TOKEN`, for temporary (STS) credentials; sent as `X-TC-Token`. */
  sessionToken?: string;
  /** Endpoint URL; default `https://ocr.intl.tencentcloudapi.com`. `http://` is for the emulator. */
  endpoint?: string;
  /** `X-TC-Region`; optional for this action. */
  region?: string;
  /** Per-call timeout in milliseconds, covering connect, send and answer; default 30,000. */
  timeoutMs?: number;
  /** HTTP(S) agent; default a keep-alive agent of our own with {@link maxSockets} sockets. */
  agent?: http.Agent;
  /**
   * Sockets of the default agent; default unlimited: each call in flight holds one, so the worker's
   * concurrency bounds them. A cap below it would hold calls that have passed the shared rate in
   * the agent's queue, to leave together when sockets free up: bunched above the rate.
   */
  maxSockets?: number;
  /**
   * Proxy URL. Only used when given: without it we always pass our own agent, because the SDK
   * otherwise silently sends through `http_proxy` from the environment.
   */
  proxy?: string;
  /** `X-TC-Language`; default `en-US` so error messages are English. */
  language?: 'en-US' | 'zh-CN';
}

/** One HTTP exchange with the service, for the call ledger and the rate limiter. */
export interface CallRecord {
  /** `OK` or the error code. */
  code: string;
  requestId: string | undefined;
  latencyMs: number;
  /** Epoch milliseconds when the call was sent. */
  startedAt: number;
}

/** Per-call options of {@link OcrClient.recognize}. */
export interface RecognizeCallOptions {
  /** Cancels the call (shutdown); the error is `ClientError.Aborted`. */
  signal?: AbortSignal;
  /**
   * Awaited before every HTTP exchange, re-signs included: the global rate limiter hooks in here.
   * It may return a function, called once the request has been handed to the network (its last
   * byte written to the socket, after any connect and TLS handshake): when the call really left.
   */
  beforeCall?: (signal?: AbortSignal) => Promise<(() => void) | undefined>;
  /** Called after every HTTP exchange, success or not. */
  onCall?: (record: CallRecord) => void;
}

/** A `RecognizeMacaoIDCardOCR` client; {@link createOcrClient} makes one. */
export interface OcrClient {
  /** Recognizes one card. Resolves with the response; rejects with an {@link OcrError}. */
  recognize(req: RecognizeRequest, opts?: RecognizeCallOptions): Promise<RecognizeMacaoIDCardOCRResponse>;
  /**
   * Sends wire parameters as given (tests, fuzzing, and callers that build `Config` themselves);
   * same errors and re-sign rule as {@link recognize}.
   */
  recognizeWire(
    params: RecognizeMacaoIDCardOCRRequest,
    opts?: RecognizeCallOptions,
  ): Promise<RecognizeMacaoIDCardOCRResponse>;
  /** The endpoint in use, for logs (no secrets in it). */
  readonly endpoint: string;
  /** Which credential it signs with, safe to show: the SecretId masked, and a fingerprint of both parts. */
  readonly credential: { secretId: string; fingerprint: string };
  /** Releases the keep-alive sockets. */
  close(): void;
}

/** The SDK throws one unexported class with `code`, `requestId`, `httpCode`: read the fields, not the class. */
interface SdkError {
  message?: string;
  code?: string;
  requestId?: string;
  httpCode?: number;
}

/**
 * Calls waiting to hear that their request has left, by the `X-TC-TraceId` we give each (the
 * SDK's own per-request trace header, which we set ourselves so that we know it). The SDK
 * makes its HTTP request deep inside (node-fetch over `http.request`); Node's
 * `http.client.request.start` diagnostics channel hands us each request, and its trace id tells
 * us whose it is. Node's built-in HTTP channels are marked experimental (this one is in every
 * Node 20); if it ever stops firing, no departure is moved and the rate limiter's guard alone
 * covers the delay (test/clientErrors.test.ts would say so).
 */
const leaving = new Map<string, () => void>();
let watchingRequests = false;

function watchRequests(): void {
  if (watchingRequests) return;
  watchingRequests = true;
  diagnostics.subscribe('http.client.request.start', (message) => {
    const request = (message as { request: http.ClientRequest }).request;
    const raw = request.getHeader('x-tc-traceid'); // node-fetch sets each header as an array
    const id = String(Array.isArray(raw) ? raw[0] : raw);
    const sent = leaving.get(id);
    if (!sent) return;
    leaving.delete(id);
    request.once('finish', sent);
  });
}

/** A client for `RecognizeMacaoIDCardOCR` over the official Tencent Cloud SDK (TC3-HMAC-SHA256). */
export function createOcrClient(options: OcrClientOptions): OcrClient {
  if (!options.secretId || !options.secretKey) {
    throw new Error('OCR credentials missing: set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY');
  }
  const timeoutMs = options.timeoutMs ?? DEFAULTS.ocrTimeoutMs;
  if (!(timeoutMs > 0)) throw new Error(`\`timeoutMs\` must be a number > 0, got \`${timeoutMs}\``);
  const { protocol, host } = parseEndpoint(options.endpoint ?? DEFAULTS.ocrEndpoint);
  const ownAgent = options.agent || options.proxy ? undefined : keepAliveAgent(protocol, options.maxSockets);
  const sdk = createSdkClient(options, { protocol, host, timeoutMs, agent: options.agent ?? ownAgent });
  const call = (params: RecognizeMacaoIDCardOCRRequest, opts: RecognizeCallOptions) =>
    callOnce(sdk, timeoutMs, params, opts);

  return {
    endpoint: `${protocol}${host}`,
    credential: {
      secretId: maskSecretId(options.secretId),
      fingerprint: credentialFingerprint(options.secretId, options.secretKey),
    },
    recognize(req, opts = {}) {
      return this.recognizeWire(toWireRequest(req), opts);
    },
    async recognizeWire(params, opts = {}) {
      try {
        return await call(params, opts);
      } catch (e) {
        // A stale timestamp is signed afresh once (the SDK stamps each send with the current time);
        // a second SignatureExpire means this machine's clock is off, which only a human can fix.
        if (e instanceof OcrError && ruleFor(e.code).resignOnce) return await call(params, opts);
        throw e;
      }
    },
    close() {
      ownAgent?.destroy();
    },
  };
}

/** The client's own keep-alive agent, for the endpoint's protocol. */
function keepAliveAgent(protocol: string, maxSockets: number | undefined): http.Agent {
  const agentOptions = { keepAlive: true, maxSockets: maxSockets ?? Number.POSITIVE_INFINITY };
  return protocol === 'https://' ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
}

/** Where and how the SDK client connects. */
interface Connection {
  protocol: string;
  host: string;
  timeoutMs: number;
  agent: http.Agent | undefined;
}

function createSdkClient(options: OcrClientOptions, conn: Connection): CommonClient {
  const { protocol, host, timeoutMs, agent } = conn;
  return new CommonClient(host, OCR_VERSION, {
    credential: {
      secretId: options.secretId,
      secretKey: options.secretKey,
      ...(options.sessionToken ? { token: options.sessionToken } : {}),
    },
    ...(options.region ? { region: options.region } : {}),
    profile: {
      signMethod: 'TC3-HMAC-SHA256',
      language: options.language ?? 'en-US',
      httpProfile: {
        protocol,
        reqMethod: 'POST',
        // The SDK wants seconds; the AbortSignal of callOnce enforces the same limit in ms.
        reqTimeout: timeoutMs / 1000,
        ...(agent ? { agent } : {}),
        ...(options.proxy ? { proxy: options.proxy } : {}),
      },
    },
  });
}

/** One HTTP exchange: waits for the rate limiter, sends, records the call, classifies a failure. */
async function callOnce(
  sdk: CommonClient,
  timeoutMs: number,
  params: RecognizeMacaoIDCardOCRRequest,
  opts: RecognizeCallOptions,
): Promise<RecognizeMacaoIDCardOCRResponse> {
  const sent = await opts.beforeCall?.(opts.signal);
  if (opts.signal?.aborted) throw new OcrError(CLIENT_CODES.aborted, 'cancelled before sending');
  if (sent) watchRequests();
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  const startedAt = Date.now();
  const t0 = performance.now();
  const record = (code: string, requestId: string | undefined): void =>
    opts.onCall?.({ code, requestId, latencyMs: performance.now() - t0, startedAt });
  try {
    const traceId = randomUUID();
    if (sent) leaving.set(traceId, sent);
    let res: RecognizeMacaoIDCardOCRResponse;
    try {
      res = (await sdk.request(OCR_ACTION, params, {
        signal,
        headers: { 'X-TC-TraceId': traceId },
      })) as RecognizeMacaoIDCardOCRResponse;
    } finally {
      leaving.delete(traceId);
    }
    record('OK', res.RequestId);
    return res;
  } catch (e) {
    const err = classifySdkError(e, { aborted: opts.signal?.aborted ?? false, timedOut: timeout.aborted });
    record(err.code, err.requestId);
    throw err;
  }
}

/** Our error from the SDK's. The SDK's own error is not kept as `cause`: its text may hold the endpoint URL. */
function classifySdkError(e: unknown, state: { aborted: boolean; timedOut: boolean }): OcrError {
  const err = (typeof e === 'object' && e !== null ? e : { message: String(e) }) as SdkError;
  if (err.code) return new OcrError(err.code, err.message ?? '', { requestId: err.requestId ?? '' });
  if (state.aborted) return new OcrError(CLIENT_CODES.aborted, 'cancelled');
  if (state.timedOut) return new OcrError(CLIENT_CODES.timeout, 'no answer within the timeout');
  if (err.httpCode) {
    return new OcrError(
      `${CLIENT_CODES.httpStatusPrefix}${err.httpCode}`,
      `HTTP ${err.httpCode} ${err.message ?? ''}`,
      {
        httpStatus: err.httpCode,
      },
    );
  }
  return new OcrError(CLIENT_CODES.network, err.message ?? 'network error');
}
