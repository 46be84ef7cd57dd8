import { setMaxListeners } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Logger, silentLogger } from '../../log.js';
import { BAD_GATEWAY_HTML, newRequestId, toError } from './errors.js';
import { type ApiCall, type CallContext, type CallOutcome, handleApiCall } from './handleApiCall.js';
import {
  EmulatorConfigError,
  type EmulatorOptions,
  parseRuntimeConfig,
  type ResolvedOptions,
  type RuntimeOptions,
  resolveOptions,
} from './options.js';
import { SlidingWindowLimiter } from './rateLimiter.js';
import { DecodeCache } from './recognize.js';
import { seededRandom } from './seededRandom.js';
import { type EmulatorStats, StatsCollector } from './stats.js';

/**
 * A local stand-in for Tencent Cloud's `RecognizeMacaoIDCardOCR` endpoint: the same wire protocol
 * (TC3-signed JSON POST, HTTP 200 envelopes), the same checks and error codes, for tests,
 * benchmarks and the demo. It is a test double, not OCR: it "recognizes" only the project's
 * specimen cards, by reading the ground truth embedded in them.
 *
 * Control endpoints live under `/_emulator/` only: `GET /_emulator/stats`, `POST /_emulator/reset`,
 * `POST /_emulator/config` (a JSON object of runtime options). They are unauthenticated, which is
 * why the default host is loopback.
 */
export interface EmulatorHandle {
  /** `http://HOST:PORT`, to use as the client's endpoint. */
  readonly url: string;
  readonly port: number;
  /** Counters since start or the last reset. */
  stats(): EmulatorStats;
  /** Clears counters and rate windows, and restarts the fault and latency draws from the seed. */
  reset(): void;
  /** Changes runtime options; each option given replaces the current value whole. Throws {@link EmulatorConfigError}. */
  configure(partial: RuntimeOptions): void;
  /** Withdraws a credential: its calls answer `AuthFailure.SecretIdNotFound` from now on. */
  revoke(secretId: string): void;
  /** Stops listening, drops open connections and in-flight downloads. */
  close(): Promise<void>;
}

const CONTROL_PREFIX = '/_emulator/';
const MAX_CONTROL_BODY_BYTES = 1024 * 1024;

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** Reads a body up to `maxBytes`, then keeps draining without storing, so the client still gets an answer. */
function readBody(req: http.IncomingMessage, maxBytes: number): Promise<{ body: Buffer; tooLarge: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > maxBytes) tooLarge = true;
      else chunks.push(chunk);
    });
    let ended = false;
    req.on('end', () => {
      ended = true;
      resolve({ body: Buffer.concat(chunks), tooLarge });
    });
    req.on('error', reject);
    req.on('close', () => {
      if (!ended) reject(new Error('the client closed the connection before the body ended'));
    });
  });
}

/** The emulator's mutable state: its options, counters, rate windows and seeded draws. */
interface EmulatorState {
  current: ResolvedOptions;
  readonly logger: Logger;
  readonly stats: StatsCollector;
  readonly limiter: SlidingWindowLimiter;
  readonly decoded: DecodeCache;
  /** Aborted on close: in-flight downloads and latency waits stop. */
  readonly closing: AbortController;
  faultDraw: () => number;
  latencyDraw: () => number;
}

/** Starts the emulator; resolves once it listens. Options are validated first (throws {@link EmulatorConfigError}). */
export async function startEmulator(options: EmulatorOptions = {}): Promise<EmulatorHandle> {
  const state = createState(options);
  const { logger, stats, closing } = state;
  // Room for a GET's 32 KB query (Node's default header limit is 16 KB): over 32 KB is the API's
  // own RequestSizeLimitExceeded, not a bare 431.
  const server = http.createServer({ maxHeaderSize: 64 * 1024 }, (req, res) => route(state, req, res));
  // Keep idle keep-alive sockets as long as a typical gateway (nginx: 75 s): with Node's 5 s default,
  // a client reusing a socket the server is just closing sees spurious ECONNRESETs.
  server.keepAliveTimeout = 75_000;
  server.headersTimeout = 80_000;
  await listen(server, state.current.port, state.current.host);
  const port = (server.address() as AddressInfo).port;
  const hostForUrl = state.current.host.includes(':') ? `[${state.current.host}]` : state.current.host;
  const url = `http://${hostForUrl}:${port}`;
  logger.info({ endpoint: url }, 'emulator listening (a test double, not OCR)');

  return {
    url,
    port,
    stats: () => stats.snapshot(),
    reset: () => resetState(state),
    configure: (partial) => applyConfig(state, partial as Record<string, unknown>),
    revoke: (secretId) => {
      const { current } = state;
      state.current = { ...current, credentials: current.credentials.filter((c) => c.secretId !== secretId) };
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        closing.abort();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function createState(options: EmulatorOptions): EmulatorState {
  const current = resolveOptions(options);
  const closing = new AbortController();
  // Every in-flight download and latency wait listens for the close: many at once, none a leak.
  setMaxListeners(0, closing.signal);
  return {
    current,
    logger: options.logger ?? silentLogger,
    stats: new StatsCollector(),
    limiter: new SlidingWindowLimiter(),
    decoded: new DecodeCache(),
    closing,
    ...seededDraws(current.seed),
  };
}

/** Two streams, so changing the latency does not change which calls get faults. */
function seededDraws(seed: number): Pick<EmulatorState, 'faultDraw' | 'latencyDraw'> {
  return { faultDraw: seededRandom(seed), latencyDraw: seededRandom(seed ^ 0x9e3779b9) };
}

function applyConfig(state: EmulatorState, partial: Record<string, unknown>): void {
  state.current = { ...state.current, ...parseRuntimeConfig(partial) };
}

function resetState(state: EmulatorState): void {
  state.stats.reset();
  state.limiter.reset();
  Object.assign(state, seededDraws(state.current.seed));
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Sends a request to the control endpoints or the API, by its path. */
function route(state: EmulatorState, req: http.IncomingMessage, res: http.ServerResponse): void {
  const raw = req.url ?? '/';
  const q = raw.indexOf('?');
  const path = q === -1 ? raw : raw.slice(0, q);
  const query = q === -1 ? '' : raw.slice(q + 1);
  const handler = path.startsWith(CONTROL_PREFIX)
    ? control(state, req, res, path)
    : api(state, req, res, path, query);
  handler.catch((thrown: unknown) => {
    // Reached only when the client went away mid-body, or on a bug; either way, no card data here.
    const err = toError(thrown);
    state.logger.warn({ err: { name: err.name, message: err.message } }, 'emulator request failed');
    if (!res.headersSent && !res.destroyed) sendJson(res, 500, { error: 'emulator failure' });
  });
}

async function control(
  state: EmulatorState,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  path: string,
): Promise<void> {
  const route = `${req.method} ${path}`;
  if (route === 'GET /_emulator/stats') return sendJson(res, 200, state.stats.snapshot());
  if (route === 'POST /_emulator/reset') {
    await readBody(req, MAX_CONTROL_BODY_BYTES);
    resetState(state);
    return sendJson(res, 200, { ok: true });
  }
  if (route === 'POST /_emulator/config') return configure(state, req, res);
  const known = ['/_emulator/stats', '/_emulator/reset', '/_emulator/config'];
  if (known.includes(path)) return sendJson(res, 405, { error: `${req.method} is not allowed on ${path}` });
  return sendJson(res, 404, { error: `no emulator control endpoint ${path.slice(0, 64)}` });
}

/** `POST /_emulator/config`: a bad config is the client's 400; anything else is thrown. */
async function configure(
  state: EmulatorState,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  const { body, tooLarge } = await readBody(req, MAX_CONTROL_BODY_BYTES);
  try {
    if (tooLarge) throw new EmulatorConfigError('the emulator config body is over 1 MB');
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      throw new EmulatorConfigError('the emulator config must be a JSON object, got invalid JSON');
    }
    applyConfig(state, parsed as Record<string, unknown>);
  } catch (thrown) {
    const err = toError(thrown);
    if (err instanceof EmulatorConfigError) return sendJson(res, 400, { error: err.message });
    throw err;
  }
  return sendJson(res, 200, { ok: true });
}

/** One API call: handled, delayed by the configured latency, counted, logged, then answered. */
async function api(
  state: EmulatorState,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  path: string,
  query: string,
): Promise<void> {
  const { stats, closing, logger } = state;
  const arrivedMs = performance.now();
  stats.arrive();
  const { body, tooLarge } = await readBody(req, state.current.maxBodyBytes);
  const call: ApiCall = {
    method: req.method ?? '',
    path,
    query,
    headers: req.headers,
    rawBody: body,
    bodyTooLarge: tooLarge,
    requestId: newRequestId(),
  };
  const outcome = await handleApiCall(call, callContext(state));
  const [min, max] = state.current.latencyMs;
  const delay = min + (max - min) * state.latencyDraw();
  if (delay > 0) await sleep(delay, undefined, { signal: closing.signal }).catch(() => undefined);
  const code = outcome.kind === 'answer' ? outcome.code : outcome.kind;
  stats.record(code, arrivedMs, outcome.admittedMs);
  logger.debug(
    { requestId: call.requestId, code, ms: Math.round(performance.now() - arrivedMs) },
    'emulator call',
  );
  answer(req, res, outcome);
}

/** What a call sees of the emulator: the options and draws as they are when its body has arrived. */
function callContext(state: EmulatorState): CallContext {
  return {
    options: state.current,
    limiter: state.limiter,
    decoded: state.decoded,
    faultDraw: state.faultDraw,
    nowMs: () => performance.now(),
    signal: state.closing.signal,
    logger: state.logger,
  };
}

function answer(req: http.IncomingMessage, res: http.ServerResponse, outcome: CallOutcome): void {
  if (outcome.kind === 'drop') {
    req.socket.destroy();
  } else if (outcome.kind === 'http502') {
    res.writeHead(502, {
      'Content-Type': 'text/html',
      'Content-Length': Buffer.byteLength(BAD_GATEWAY_HTML),
    });
    res.end(BAD_GATEWAY_HTML);
  } else {
    sendJson(res, 200, outcome.body);
  }
}
