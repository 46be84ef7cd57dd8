import { setMaxListeners } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Logger, silentLogger } from '../../log.js';
import { BAD_GATEWAY_HTML, newRequestId, toError } from './errors.js';
import { type ApiCall, type CallContext, handleApiCall } from './handleApiCall.js';
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

/** Starts the emulator; resolves once it listens. Options are validated first (throws {@link EmulatorConfigError}). */
export async function startEmulator(options: EmulatorOptions = {}): Promise<EmulatorHandle> {
  let current: ResolvedOptions = resolveOptions(options);
  const logger: Logger = options.logger ?? silentLogger;
  const stats = new StatsCollector();
  const limiter = new SlidingWindowLimiter();
  const decoded = new DecodeCache();
  const closing = new AbortController();
  // Every in-flight download and latency wait listens for the close: many at once, none a leak.
  setMaxListeners(0, closing.signal);
  // Two streams, so changing the latency does not change which calls get faults.
  let faultDraw = seededRandom(current.seed);
  let latencyDraw = seededRandom(current.seed ^ 0x9e3779b9);

  const apply = (partial: Record<string, unknown>): void => {
    current = { ...current, ...parseRuntimeConfig(partial) };
  };
  const reset = (): void => {
    stats.reset();
    limiter.reset();
    faultDraw = seededRandom(current.seed);
    latencyDraw = seededRandom(current.seed ^ 0x9e3779b9);
  };

  async function control(req: http.IncomingMessage, res: http.ServerResponse, path: string): Promise<void> {
    const route = `${req.method} ${path}`;
    if (route === 'GET /_emulator/stats') return sendJson(res, 200, stats.snapshot());
    if (route === 'POST /_emulator/reset') {
      await readBody(req, MAX_CONTROL_BODY_BYTES);
      reset();
      return sendJson(res, 200, { ok: true });
    }
    if (route === 'POST /_emulator/config') {
      const { body, tooLarge } = await readBody(req, MAX_CONTROL_BODY_BYTES);
      try {
        if (tooLarge) throw new EmulatorConfigError('the emulator config body is over 1 MB');
        let parsed: unknown;
        try {
          parsed = JSON.parse(body.toString('utf8'));
        } catch {
          throw new EmulatorConfigError('the emulator config must be a JSON object, got invalid JSON');
        }
        apply(parsed as Record<string, unknown>);
      } catch (thrown) {
        const err = toError(thrown);
        if (err instanceof EmulatorConfigError) return sendJson(res, 400, { error: err.message });
        throw err;
      }
      return sendJson(res, 200, { ok: true });
    }
    const known = ['/_emulator/stats', '/_emulator/reset', '/_emulator/config'];
    if (known.includes(path)) return sendJson(res, 405, { error: `${req.method} is not allowed on ${path}` });
    return sendJson(res, 404, { error: `no emulator control endpoint ${path.slice(0, 64)}` });
  }

  async function api(req: http.IncomingMessage, res: http.ServerResponse, path: string, query: string) {
    const arrivedMs = performance.now();
    stats.arrive();
    const { body, tooLarge } = await readBody(req, current.maxBodyBytes);
    const call: ApiCall = {
      method: req.method ?? '',
      path,
      query,
      headers: req.headers,
      rawBody: body,
      bodyTooLarge: tooLarge,
      requestId: newRequestId(),
    };
    const ctx: CallContext = {
      options: current,
      limiter,
      decoded,
      faultDraw,
      nowMs: () => performance.now(),
      signal: closing.signal,
      logger,
    };
    const outcome = await handleApiCall(call, ctx);
    const [min, max] = current.latencyMs;
    const delay = min + (max - min) * latencyDraw();
    if (delay > 0) await sleep(delay, undefined, { signal: closing.signal }).catch(() => undefined);
    const code = outcome.kind === 'answer' ? outcome.code : outcome.kind;
    stats.record(code, arrivedMs, outcome.admittedMs);
    logger.debug(
      { requestId: call.requestId, code, ms: Math.round(performance.now() - arrivedMs) },
      'emulator call',
    );
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

  const server = http.createServer((req, res) => {
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const path = q === -1 ? raw : raw.slice(0, q);
    const query = q === -1 ? '' : raw.slice(q + 1);
    const handler = path.startsWith(CONTROL_PREFIX) ? control(req, res, path) : api(req, res, path, query);
    handler.catch((thrown: unknown) => {
      // Reached only when the client went away mid-body, or on a bug; either way, no card data here.
      const err = toError(thrown);
      logger.warn({ err: { name: err.name, message: err.message } }, 'emulator request failed');
      if (!res.headersSent && !res.destroyed) sendJson(res, 500, { error: 'emulator failure' });
    });
  });

  // Keep idle keep-alive sockets as long as a typical gateway (nginx: 75 s): with Node's 5 s default,
  // a client reusing a socket the server is just closing sees spurious ECONNRESETs.
  server.keepAliveTimeout = 75_000;
  server.headersTimeout = 80_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(current.port, current.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const hostForUrl = current.host.includes(':') ? `[${current.host}]` : current.host;
  const url = `http://${hostForUrl}:${port}`;
  logger.info({ endpoint: url }, 'emulator listening (a test double, not OCR)');

  return {
    url,
    port,
    stats: () => stats.snapshot(),
    reset,
    configure: (partial) => apply(partial as Record<string, unknown>),
    revoke: (secretId) => {
      current = { ...current, credentials: current.credentials.filter((c) => c.secretId !== secretId) };
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        closing.abort();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
