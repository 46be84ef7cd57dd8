import type { Logger } from '../../log.js';
import { OCR_ACTION, OCR_VERSION } from '../../ocr/types.js';
import { ApiError, errorEnvelope, toError } from './errors.js';
import { fetchImage } from './fetchImage.js';
import { FAULT_KINDS, type FaultKind, type ResolvedOptions } from './options.js';
import type { SlidingWindowLimiter } from './rateLimiter.js';
import { type DecodeCache, type DecodedImage, recognizedResponse, specimenSide } from './recognize.js';
import { type Tc3Secret, verifyTc3 } from './tc3Verify.js';
import { type ImageInput, validateRequest } from './validateRequest.js';

/** One API request, read off the wire. */
export interface ApiCall {
  method: string;
  /** Raw path and query, as the client signed them. */
  path: string;
  query: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  rawBody: Buffer;
  /** The body passed `maxBodyBytes`; `rawBody` then holds only the start of it. */
  bodyTooLarge: boolean;
  requestId: string;
}

/** What the emulator's state gives the pipeline. */
export interface CallContext {
  options: ResolvedOptions;
  limiter: SlidingWindowLimiter;
  /** Decoded images by the digest of their bytes (decoding is the emulator's CPU cost). */
  decoded: DecodeCache;
  /** Seeded draw in [0, 1) for faults. */
  faultDraw: () => number;
  /** Monotonic milliseconds (`performance.now()`). */
  nowMs: () => number;
  /** Aborted when the emulator closes: in-flight downloads stop. */
  signal: AbortSignal;
  logger: Logger;
}

/** How to answer a call: an API envelope (HTTP 200), a gateway's 502, or no answer at all. */
export type CallOutcome =
  | { kind: 'answer'; code: string; body: unknown; admittedMs?: number }
  | { kind: 'http502'; admittedMs: number }
  | { kind: 'drop'; admittedMs: number };

/** The common parameters that travel as `X-TC-*` headers, or as query parameters of a GET. */
const COMMON_PARAMS = { action: 'Action', version: 'Version', region: 'Region' } as const;

/** A GET's query is limited like the service's: 32 KB. */
const MAX_GET_QUERY_BYTES = 32 * 1024;

/**
 * A common parameter: its `X-TC-*` header, or for a GET its parameter in `query` (the GET's
 * query, parsed; undefined for a POST).
 */
function common(
  call: ApiCall,
  query: URLSearchParams | undefined,
  name: keyof typeof COMMON_PARAMS,
): string | undefined {
  const fromHeader = header(call, `x-tc-${name}`);
  if (fromHeader !== undefined || !query) return fromHeader;
  return query.get(COMMON_PARAMS[name]) ?? undefined;
}

/**
 * The action's parameters as a JSON body: a POST's body as it is; a GET's query parameters
 * (`query`), the common ones left out (the official SDK sends a GET this way, the API page shows
 * one).
 */
function parametersBody(call: ApiCall, query: URLSearchParams | undefined): Buffer {
  if (!query) return call.rawBody;
  const params: Record<string, string> = {};
  const skip = new Set<string>(Object.values(COMMON_PARAMS));
  for (const [k, v] of query) if (!skip.has(k)) params[k] = v;
  return Buffer.from(JSON.stringify(params));
}

function header(call: ApiCall, name: string): string | undefined {
  const v = Object.hasOwn(call.headers, name) ? call.headers[name] : undefined;
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Picks at most one fault with a single draw, walking the kinds in a fixed order so a seed replays. */
function drawFault(faults: ResolvedOptions['faults'], u: number): FaultKind | undefined {
  let edge = 0;
  for (const kind of FAULT_KINDS) {
    edge += faults[kind] ?? 0;
    if (u < edge) return kind;
  }
  return undefined;
}

/**
 * The most bytes a download may have. The API page words the two sides apart: the front's
 * download "should not exceed 7M", the back's "does not exceed 7M after Base64 encoding", i.e.
 * three quarters of it in raw bytes.
 */
function maxDownloadBytes(side: 'front' | 'back', maxImageBytes: number): number {
  return side === 'front' ? maxImageBytes : Math.floor((maxImageBytes * 3) / 4);
}

async function loadImage(input: ImageInput, side: 'front' | 'back', ctx: CallContext): Promise<DecodedImage> {
  const bytes =
    input.kind === 'url'
      ? await fetchImage(input.url, {
          timeoutMs: ctx.options.downloadTimeoutMs,
          maxBytes: maxDownloadBytes(side, ctx.options.maxImageBytes),
          signal: ctx.signal,
        })
      : input.bytes;
  return ctx.decoded.decode(bytes, side);
}

/**
 * Runs one call through the checks in the order the service plausibly applies them: method, body
 * size, signature, action, version, region, account, rate, injected faults, parameters, images.
 * The first failure is the answer.
 */
async function run(call: ApiCall, ctx: CallContext): Promise<CallOutcome> {
  const opts = ctx.options;
  if (call.method !== 'POST' && call.method !== 'GET') {
    throw new ApiError(
      'UnsupportedOperation',
      `The request method ${call.method.slice(0, 16)} is not supported; use POST or GET.`,
    );
  }
  if (call.bodyTooLarge) throw new ApiError('RequestSizeLimitExceeded');
  if (call.method === 'GET' && Buffer.byteLength(call.query) > MAX_GET_QUERY_BYTES) {
    throw new ApiError('RequestSizeLimitExceeded', 'A GET request may not exceed 32 KB: use POST.');
  }

  const secrets = new Map<string, Tc3Secret>(
    opts.credentials.map((c) => [
      c.secretId,
      { secretKey: c.secretKey, ...(c.token ? { token: c.token } : {}) },
    ]),
  );
  const auth = verifyTc3(
    { method: call.method, path: call.path, query: call.query, headers: call.headers, rawBody: call.rawBody },
    (id) => secrets.get(id),
    Date.now() / 1000,
  );
  if (!auth.ok) throw new ApiError(auth.code, auth.message);

  const query = call.method === 'GET' ? new URLSearchParams(call.query) : undefined;
  const action = common(call, query, 'action') ?? '';
  if (action !== OCR_ACTION) {
    throw new ApiError('InvalidAction', `The requested action \`${action.slice(0, 64)}\` does not exist.`);
  }
  const version = common(call, query, 'version') ?? '';
  if (version !== OCR_VERSION) {
    throw new ApiError(
      'NoSuchVersion',
      `The requested version \`${version.slice(0, 32)}\` of service \`ocr\` does not exist.`,
    );
  }
  const region = common(call, query, 'region')?.trim() ?? '';
  if (region !== '' && !opts.regions.includes(region)) {
    throw new ApiError(
      'UnsupportedRegion',
      `The \`ocr\` service does not support the region \`${region.slice(0, 32)}\`.`,
    );
  }
  const account = Object.hasOwn(opts.accounts, auth.secretId) ? opts.accounts[auth.secretId] : 'ok';
  if (account && account !== 'ok') throw new ApiError(account);

  const admittedMs = ctx.nowMs();
  if (!ctx.limiter.tryAcquire(auth.secretId, opts.qps, admittedMs)) {
    throw new ApiError(
      'RequestLimitExceeded',
      `The request rate exceeds the frequency limit of ${opts.qps} per second. Please reduce the frequency of calls.`,
    );
  }
  const fault = drawFault(opts.faults, ctx.faultDraw());
  if (fault === 'http502' || fault === 'drop') return { kind: fault, admittedMs };
  if (fault) throw new ApiError(fault);

  const request = validateRequest(parametersBody(call, query), opts.maxImageBytes);
  const front = await loadImage(request.front, 'front', ctx);
  const truth = specimenSide(front, 'front');
  if (request.back) specimenSide(await loadImage(request.back, 'back', ctx), 'back');
  const body = {
    Response: await recognizedResponse(front, truth, request.retImage, call.requestId, opts),
  };
  return { kind: 'answer', code: 'OK', body, admittedMs };
}

/** Answers one API call; never throws: an unexpected failure is the service's `InternalError`. */
export async function handleApiCall(call: ApiCall, ctx: CallContext): Promise<CallOutcome> {
  try {
    return await run(call, ctx);
  } catch (thrown) {
    const err = toError(thrown);
    if (err instanceof ApiError) {
      return { kind: 'answer', code: err.code, body: errorEnvelope(err.code, err.message, call.requestId) };
    }
    ctx.logger.error(
      { requestId: call.requestId, err: { name: err.name, message: err.message } },
      'emulator bug',
    );
    return {
      kind: 'answer',
      code: 'InternalError',
      body: errorEnvelope('InternalError', 'An internal error has occurred.', call.requestId),
    };
  }
}
