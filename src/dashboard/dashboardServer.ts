import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBullBoard } from '@bull-board/api';
import type { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Queue } from 'bullmq';
import express, { type RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import { DEFAULTS } from '../defaults.js';
import { type CardJobData, createRedis, DEFAULT_QUEUE_PREFIX } from '../queue.js';
import type { RunJson } from '../results/runLifecycle.js';
import { basicAuth, type DashboardAuth } from './basicAuth.js';
import { CardQueueAdapter } from './cardQueueAdapter.js';
import { allowedHostError, type HostMatcher, hostGuard, hostMatcher, SAFE_METHODS } from './hostGuard.js';

/** Everything from this server, nothing from elsewhere; inline styles are the UI's own. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Options of {@link startDashboard}. */
export interface DashboardOptions {
  /** `REDIS_URL` of the queue. */
  redisUrl: string;
  /** Queue name (`MACAO_OCR_QUEUE`); default `cards`. */
  queueName?: string;
  /** BullMQ key prefix; default `{macao-ocr}`. */
  prefix?: string;
  /** TCP port; 0 picks a free one. */
  port: number;
  /**
   * Interface to listen on; default `127.0.0.1`. Elsewhere than loopback, give {@link auth} (the
   * `macao-ocr dashboard` command refuses to start without it).
   */
  host?: string;
  /**
   * More names the dashboard answers to (`--allowed-host`), as `name` (any port) or `name:port`;
   * default none. Requests whose `Host` is none of these, the listening address with its port (the
   * machine's addresses for `0.0.0.0` or `::`) or `localhost`, `127.0.0.1`, `[::1]` with its port
   * are refused with 421: a page elsewhere cannot reach the board through DNS rebinding.
   */
  allowedHosts?: readonly string[];
  /**
   * HTTP Basic credentials every request must carry (pages, static files, the API); default none:
   * no authentication. Requests without them, or with others, get 401.
   */
  auth?: DashboardAuth;
  /**
   * Let the dashboard act on the queue (retry, clean, pause, remove, add, ...); default false:
   * read-only, every action is refused. Note that `macao-ocr resume`, not the dashboard's Resume,
   * is the way out of a pause caused by a fatal API error (it also clears the recorded reason).
   */
  allowActions?: boolean;
  /**
   * Called after each action the board carried out (a request that changes the queue and
   * succeeded), for the audit log: its method and path (queue name and job id, never card data)
   * and the login it came with. Default none.
   */
  onAction?: (action: DashboardAction) => void | Promise<void>;
  /**
   * The runs as `macao-ocr runs --json` gives them, from the results store: served read-only at
   * `/api/runs` (`?limit=N`, default 20) and `/api/runs/RUN`, so the board's numbers can be set
   * beside `status` and `report`. Default none: no such routes.
   */
  runs?: {
    list(limit: number): Promise<RunJson[]>;
    get(id: string): Promise<RunJson | undefined>;
  };
}

/** One action taken on the dashboard. */
export interface DashboardAction {
  method: string;
  path: string;
  /** The Basic login's user name, when a login is configured. */
  user?: string | undefined;
  status: number;
}

/** A running dashboard. */
export interface Dashboard {
  /** The board's home, `http://host:port/`. */
  url: string;
  /** The queue's page. */
  queueUrl: string;
  port: number;
  readOnly: boolean;
  close(): Promise<void>;
}

/**
 * Serves bull-board for the card queue. Jobs are shown by identity only (run, bucket, keys,
 * ETags; outcome and error code for finished ones; a failure's error code, never its message or
 * stack): see `formatters.ts` and `cardQueueAdapter.ts`. Only the names of {@link
 * DashboardOptions.allowedHosts} are answered, and only with the login of {@link
 * DashboardOptions.auth} when it is given.
 */
export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const host = opts.host ?? '127.0.0.1';
  const queueName = opts.queueName ?? DEFAULTS.queueName;
  const readOnly = !opts.allowActions;
  const allowedHosts = opts.allowedHosts ?? [];
  for (const name of allowedHosts) {
    const why = allowedHostError(name);
    if (why) throw new Error(`allowed host \`${name}\` ${why}`);
  }
  // Checked before anything connects: bad credentials leave nothing to release.
  const authGuard = opts.auth ? basicAuth(opts.auth) : undefined;
  // A bounded retry count: a page load must fail, not hang, while Redis is away.
  const redis: Redis = createRedis(opts.redisUrl, { maxRetriesPerRequest: 3 });
  const queue = new Queue<CardJobData>(queueName, {
    connection: redis,
    prefix: opts.prefix ?? DEFAULT_QUEUE_PREFIX,
  });
  // Filled in once the port is known (port 0 picks one); nothing is served before that.
  let matches: HostMatcher = () => false;
  const app = createApp(new CardQueueAdapter(queue, readOnly), {
    readOnly,
    hosts: (h) => matches(h),
    ...(authGuard ? { authGuard } : {}),
    ...(opts.onAction ? { onAction: opts.onAction } : {}),
    ...(opts.runs ? { runs: opts.runs } : {}),
  });
  const release = async (): Promise<void> => {
    await queue.close().catch(() => undefined);
    redis.disconnect();
  };

  let server: Server;
  try {
    await redis.ping();
    server = await listen(app, opts.port, host);
  } catch (e) {
    await release();
    throw e;
  }
  const port = (server.address() as AddressInfo).port;
  matches = hostMatcher(host, port, allowedHosts);
  const base = `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
  let closing: Promise<void> | undefined;
  return {
    url: base,
    queueUrl: `${base}queue/${encodeURIComponent(queueName)}`,
    port,
    readOnly,
    close() {
      closing ??= closeServer(server).then(release);
      return closing;
    },
  };
}

/** What stands in front of the board. */
interface AppGuards {
  readOnly: boolean;
  hosts: HostMatcher;
  /** Basic authentication, when configured. */
  authGuard?: RequestHandler;
  onAction?: DashboardOptions['onAction'];
  runs?: DashboardOptions['runs'];
}

/** Reports every request that changed the queue and succeeded, once it is answered. */
function actionRecorder(onAction: NonNullable<DashboardOptions['onAction']>): RequestHandler {
  return (req, res, next) => {
    if (!SAFE_METHODS.has(req.method)) {
      res.on('finish', () => {
        if (res.statusCode >= 400) return;
        const user = typeof res.locals.user === 'string' ? res.locals.user : undefined;
        Promise.resolve(onAction({ method: req.method, path: req.path, user, status: res.statusCode })).catch(
          () => undefined,
        );
      });
    }
    next();
  };
}

/**
 * The Express app: bull-board at `/`, behind the security headers, the `Host` allow-list and,
 * when configured, Basic authentication, in that order (a misdirected request is refused before
 * it can learn whether credentials are needed).
 */
function createApp(
  adapter: BullMQAdapter,
  { readOnly, hosts, authGuard, onAction, runs }: AppGuards,
): express.Express {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath('/');
  createBullBoard({
    queues: [adapter],
    serverAdapter,
    options: {
      uiConfig: { boardTitle: 'macao-ocr', hideDocsLink: true },
      // The adapter refuses queue actions when read-only; this refuses the board-wide ones and
      // anything a later bull-board adds, so read-only means no request can change Redis.
      ...(readOnly
        ? {
            handlerHooks: {
              before: ({ method }) =>
                method.toLowerCase() === 'get'
                  ? { allow: true }
                  : { allow: false, status: 405, errorKey: 'ERRORS.QUEUE_READ_ONLY' },
            },
          }
        : {}),
    },
  });

  const app = express();
  app.disable('x-powered-by');
  app.use((_req, res, next) => {
    // The page asks for Google Fonts; an operator's browser on a KYC dashboard should talk to
    // this server only. The UI falls back to local fonts. No framing (clickjacking the actions).
    res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
    res.setHeader('referrer-policy', 'no-referrer');
    next();
  });
  app.use(hostGuard(hosts));
  if (authGuard) app.use(authGuard);
  if (onAction) app.use(actionRecorder(onAction));
  if (runs) app.use('/api/runs', runsRouter(runs));
  app.use('/', serverAdapter.getRouter());
  return app;
}

/** `/api/runs` and `/api/runs/RUN`: what became of each run's cards, counts only (no card data). */
function runsRouter(runs: NonNullable<DashboardOptions['runs']>): express.Router {
  const router = express.Router();
  router.get('/', (req, res, next) => {
    const limit = Number(req.query.limit ?? 20);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      res.status(400).json({ error: 'limit must be a whole number from 1 to 1000' });
      return;
    }
    runs.list(limit).then((items) => res.json(items), next);
  });
  router.get('/:id', (req, res, next) => {
    runs
      .get(req.params.id)
      .then(
        (run) => (run ? res.json(run) : res.status(404).json({ error: `no run ${req.params.id}` })),
        next,
      );
  });
  return router;
}

function listen(app: express.Express, port: number, host: string): Promise<Server> {
  return new Promise<Server>((resolve, reject) => {
    const s = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(s)));
    s.once('error', reject);
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    // The board polls with keep-alive connections, which close() alone would wait for.
    server.closeAllConnections();
  });
}
