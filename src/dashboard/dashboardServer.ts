import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Queue } from 'bullmq';
import express from 'express';
import type { Redis } from 'ioredis';
import { DEFAULTS } from '../defaults.js';
import { type CardJobData, createRedis, DEFAULT_QUEUE_PREFIX } from '../queue.js';
import { applyIdentityFormatters } from './formatters.js';

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
   * Interface to listen on; default `127.0.0.1`. The dashboard has no authentication: put it on
   * another interface only behind something that has (a reverse proxy, an SSH tunnel).
   */
  host?: string;
  /**
   * Let the dashboard act on the queue (retry, clean, pause, remove, add, ...); default false:
   * read-only, every action is refused. Note that `macao-ocr resume`, not the dashboard's Resume,
   * is the way out of a pause caused by a fatal API error (it also clears the recorded reason).
   */
  allowActions?: boolean;
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
 * ETags; outcome and error code for finished ones): see `formatters.ts`.
 */
export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const host = opts.host ?? '127.0.0.1';
  const queueName = opts.queueName ?? DEFAULTS.queueName;
  const readOnly = !opts.allowActions;
  // A bounded retry count: a page load must fail, not hang, while Redis is away.
  const redis: Redis = createRedis(opts.redisUrl, { maxRetriesPerRequest: 3 });
  const queue = new Queue<CardJobData>(queueName, {
    connection: redis,
    prefix: opts.prefix ?? DEFAULT_QUEUE_PREFIX,
  });
  const app = createApp(queueAdapter(queue, readOnly), readOnly);
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

/** The card queue as bull-board shows it: identity-only formatters, read-only unless allowed. */
function queueAdapter(queue: Queue<CardJobData>, readOnly: boolean): BullMQAdapter {
  const adapter = new BullMQAdapter(queue, {
    readOnlyMode: readOnly,
    allowRetries: !readOnly,
    description: readOnly ? 'macao-ocr card jobs (read-only)' : 'macao-ocr card jobs',
  });
  applyIdentityFormatters(adapter);
  return adapter;
}

/** The Express app: bull-board at `/`, behind the security headers. */
function createApp(adapter: BullMQAdapter, readOnly: boolean): express.Express {
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
  app.use('/', serverAdapter.getRouter());
  return app;
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
