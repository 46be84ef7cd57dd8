import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  bool,
  ConfigError,
  type Env,
  nonNegativeNumber,
  optionalNonNegative,
  positiveNumber,
  requireTls,
  str,
  url,
  wholeNumber,
} from './configValues.js';
import { DEFAULTS } from './defaults.js';
import { parseEndpoint } from './endpoint.js';
import { maskSecrets } from './maskSecrets.js';

export { ConfigError } from './configValues.js';

/**
 * The one typed configuration, parsed once at the edge from the environment (and `.env`), then
 * overridden by command-line flags. Every message names the variable, the rule and the value.
 */
export interface Config {
  /** `REDIS_URL`; default `redis://127.0.0.1:6379`. */
  redisUrl: string;
  /** `DATABASE_URL` (`postgres://...`); unset: embedded PGlite in {@link dataDir}. */
  databaseUrl: string | undefined;
  /** Where embedded PGlite keeps its data; `MACAO_OCR_DATA_DIR`, default `./.macao-ocr`. */
  dataDir: string;
  /** `MACAO_OCR_QUEUE`: the BullMQ queue name, for several independent pipelines on one Redis; default `cards`. */
  queueName: string;
  s3: {
    /** `S3_ENDPOINT`: COS, MinIO or s3rver URL; unset for AWS S3. */
    endpoint: string | undefined;
    /** `S3_FORCE_PATH_STYLE`: `true` for MinIO and s3rver. */
    forcePathStyle: boolean;
    /** `AWS_REGION`; default `us-east-1`. */
    region: string;
    /**
     * `S3_PRESIGN_ENDPOINT`: the endpoint presigned URLs name, when the OCR provider must reach the
     * bucket by another name than the workers do (a public COS endpoint); unset: `S3_ENDPOINT`.
     */
    presignEndpoint?: string | undefined;
    /**
     * `S3_PRESIGN_TTL_S`: how long a presigned URL stays valid, in seconds, 10 to 3600; default 60.
     * The provider downloads within 3 s of the call, so a short life limits what a leaked URL gives
     * away. {@link parseConfig} always sets it; a configuration built by hand may leave it to the
     * worker's default.
     */
    presignTtlSec?: number;
  };
  tencent: {
    /** `TENCENTCLOUD_SECRET_ID`. */
    secretId: string | undefined;
    /** `TENCENTCLOUD_SECRET_KEY`. */
    secretKey: string | undefined;
    /** `TENCENTCLOUD_SESSION_TOKEN`, for temporary credentials. */
    sessionToken: string | undefined;
  };
  ocr: {
    /** `OCR_ENDPOINT`; default `https://ocr.intl.tencentcloudapi.com`. */
    endpoint: string;
    /** `OCR_REGION`; optional for this action. */
    region: string | undefined;
    /**
     * `OCR_QPS`: requests per second for all workers together; default 5, the lowest rate Tencent
     * documents for sibling international card actions (none is published for this one).
     */
    qps: number;
    /**
     * `OCR_RATE_GUARD_MS`: ms added to the provider's 1-second span when calls are spaced; default
     * 30 (3% of the rate). Raise it when the API answers `RequestLimitExceeded` at the configured
     * rate: the delay from our workers to the provider's counter varies by more than this.
     */
    rateGuardMs: number;
    /** `OCR_IMAGE_MODE`: `url` (presigned GET URL) or `base64` (inline); default `url`. */
    imageMode: 'url' | 'base64';
    /** `OCR_TIMEOUT_MS`: per-call timeout in ms; default 30,000. */
    timeoutMs: number;
    /** `OCR_PROXY`: an HTTP(S) proxy for the OCR endpoint; unset: direct (the SDK's `http_proxy` habit is ignored). */
    proxy: string | undefined;
    /**
     * `OCR_QUOTA_KEY`: names the account whose quota `OCR_QPS` is. Every worker, of every queue on
     * one Redis, that has the same key shares one rate. Unset: the SecretId, so several SecretIds
     * of one account need the same `OCR_QUOTA_KEY` to share their account's quota.
     */
    quotaKey: string | undefined;
    /** `OCR_PRICE_PER_1000`: what 1,000 billed calls cost, for `enqueue --dry-run`'s estimate; unset: no cost shown. */
    pricePer1000: number | undefined;
  };
  /**
   * `MACAO_OCR_NOTIFY_URL` and `MACAO_OCR_NOTIFY_SECRET`: where a run's end is announced (one
   * signed POST per run; `--notify` wins for a run), and the key that signs it. A URL needs the
   * secret; cleartext `http://` only to this machine unless `MACAO_OCR_ALLOW_INSECURE`.
   */
  notify: { url: string | undefined; secret: string | undefined };
  /** `LOG_LEVEL`: trace, debug, info, warn, error, fatal or silent; default `info`. */
  logLevel: string;
  /**
   * `MACAO_OCR_ALLOW_INSECURE`: let `OCR_ENDPOINT` and `S3_PRESIGN_ENDPOINT` use cleartext
   * `http://` to a host other than this machine (a trusted private network); default false.
   */
  allowInsecure: boolean;
  /**
   * `MACAO_OCR_DASHBOARD_USER` and `MACAO_OCR_DASHBOARD_PASSWORD`: the dashboard's login, both
   * set or neither; default neither.
   */
  dashboard: { user?: string; password?: string };
  /**
   * `MACAO_OCR_MAX_PIXELS`: the most pixels (width × height) a scan may have to be decoded; a
   * positive whole number, default 50,000,000.
   */
  maxPixels: number;
  /**
   * `MACAO_OCR_RETAIN_DAYS`: how many days the results of a run are kept, a positive whole number
   * of days; unset (default): kept for good.
   */
  retainDays: number | undefined;
}

/**
 * Every environment variable {@link parseConfig} reads. The AWS SDK reads its own credential
 * chain besides (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_PROFILE`,
 * ...). Deployment files are checked against this list (test/compose.test.ts), and the list
 * against this file.
 */
export const CONFIG_VARIABLES = [
  'REDIS_URL',
  'DATABASE_URL',
  'MACAO_OCR_DATA_DIR',
  'MACAO_OCR_QUEUE',
  'S3_ENDPOINT',
  'S3_FORCE_PATH_STYLE',
  'S3_PRESIGN_ENDPOINT',
  'S3_PRESIGN_TTL_S',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'TENCENTCLOUD_SECRET_ID',
  'TENCENTCLOUD_SECRET_KEY',
  'TENCENTCLOUD_SESSION_TOKEN',
  'OCR_ENDPOINT',
  'OCR_REGION',
  'OCR_QPS',
  'OCR_RATE_GUARD_MS',
  'OCR_IMAGE_MODE',
  'OCR_TIMEOUT_MS',
  'OCR_PROXY',
  'OCR_QUOTA_KEY',
  'OCR_PRICE_PER_1000',
  'MACAO_OCR_NOTIFY_URL',
  'MACAO_OCR_NOTIFY_SECRET',
  'LOG_LEVEL',
  'MACAO_OCR_ALLOW_INSECURE',
  'MACAO_OCR_DASHBOARD_USER',
  'MACAO_OCR_DASHBOARD_PASSWORD',
  'MACAO_OCR_MAX_PIXELS',
  'MACAO_OCR_RETAIN_DAYS',
] as const;

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** Reads `.env` in the working directory into `process.env` (variables already set win). */
export function loadDotEnv(file = resolve('.env')): void {
  if (existsSync(file)) process.loadEnvFile(file);
}

function queueName(v: string): string {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(v)) {
    throw new ConfigError(`MACAO_OCR_QUEUE must be 1-64 letters, digits, '.', '_' or '-', got \`${v}\``);
  }
  return v;
}

/** Parses the configuration from an environment. Throws {@link ConfigError} naming the variable. */
export function parseConfig(env: Env = process.env): Config {
  const logLevel = str(env, 'LOG_LEVEL')?.toLowerCase() ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got \`${logLevel}\``);
  }
  const allowInsecure = bool(env, 'MACAO_OCR_ALLOW_INSECURE');
  return {
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:'], DEFAULTS.redisUrl) ?? DEFAULTS.redisUrl,
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:'], 'postgres://user@host:5432/db'),
    dataDir: resolve(str(env, 'MACAO_OCR_DATA_DIR') ?? DEFAULTS.dataDir),
    queueName: queueName(str(env, 'MACAO_OCR_QUEUE') ?? DEFAULTS.queueName),
    s3: parseS3(env, allowInsecure),
    tencent: {
      secretId: str(env, 'TENCENTCLOUD_SECRET_ID'),
      secretKey: str(env, 'TENCENTCLOUD_SECRET_KEY'),
      sessionToken: str(env, 'TENCENTCLOUD_SESSION_TOKEN'),
    },
    ocr: parseOcr(env, allowInsecure),
    notify: parseNotify(env, allowInsecure),
    logLevel,
    allowInsecure,
    dashboard: parseDashboard(env),
    maxPixels: wholeNumber(env, 'MACAO_OCR_MAX_PIXELS', { min: 1, unit: 'pixels' }) ?? DEFAULTS.maxPixels,
    retainDays: wholeNumber(env, 'MACAO_OCR_RETAIN_DAYS', { min: 1, unit: 'days' }),
  };
}

function parseS3(env: Env, allowInsecure: boolean): Config['s3'] {
  // S3_ENDPOINT may be cleartext: workers read scans through it, often from MinIO on a private
  // network. The presign endpoint is what the provider downloads from, across the internet.
  const cos = 'https://cos.ap-guangzhou.myqcloud.com';
  const presignEndpoint = url(env, 'S3_PRESIGN_ENDPOINT', ['http:', 'https:'], cos);
  requireTls('S3_PRESIGN_ENDPOINT', presignEndpoint, allowInsecure);
  return {
    endpoint: url(env, 'S3_ENDPOINT', ['http:', 'https:'], cos),
    forcePathStyle: bool(env, 'S3_FORCE_PATH_STYLE'),
    region: str(env, 'AWS_REGION') ?? str(env, 'AWS_DEFAULT_REGION') ?? DEFAULTS.awsRegion,
    presignEndpoint,
    presignTtlSec:
      wholeNumber(env, 'S3_PRESIGN_TTL_S', { min: 10, max: 3600, unit: 'seconds' }) ?? DEFAULTS.presignTtlSec,
  };
}

function parseOcr(env: Env, allowInsecure: boolean): Config['ocr'] {
  const endpoint = str(env, 'OCR_ENDPOINT') ?? DEFAULTS.ocrEndpoint;
  try {
    parseEndpoint(endpoint);
  } catch (e) {
    throw new ConfigError(`OCR_ENDPOINT: ${(e as Error).message}`);
  }
  requireTls('OCR_ENDPOINT', endpoint, allowInsecure);
  const imageMode = str(env, 'OCR_IMAGE_MODE') ?? 'url';
  if (imageMode !== 'url' && imageMode !== 'base64') {
    throw new ConfigError(`OCR_IMAGE_MODE must be url or base64, got \`${imageMode}\``);
  }
  return {
    endpoint,
    region: str(env, 'OCR_REGION'),
    qps: positiveNumber(env, 'OCR_QPS', DEFAULTS.qps),
    rateGuardMs: nonNegativeNumber(env, 'OCR_RATE_GUARD_MS', DEFAULTS.rateGuardMs),
    imageMode,
    timeoutMs: positiveNumber(env, 'OCR_TIMEOUT_MS', DEFAULTS.ocrTimeoutMs),
    proxy: url(env, 'OCR_PROXY', ['http:', 'https:'], 'http://proxy.example:3128'),
    quotaKey: str(env, 'OCR_QUOTA_KEY'),
    pricePer1000: optionalNonNegative(env, 'OCR_PRICE_PER_1000'),
  };
}

function parseNotify(env: Env, allowInsecure: boolean): Config['notify'] {
  const notifyUrl = str(env, 'MACAO_OCR_NOTIFY_URL');
  if (notifyUrl !== undefined) checkNotifyUrl(notifyUrl, 'MACAO_OCR_NOTIFY_URL', allowInsecure);
  const secret = str(env, 'MACAO_OCR_NOTIFY_SECRET');
  if (notifyUrl !== undefined && secret === undefined)
    throw new ConfigError(
      'MACAO_OCR_NOTIFY_URL is set but MACAO_OCR_NOTIFY_SECRET is not: notices are signed with it (X-Macao-OCR-Signature), so the receiver can tell them from forgeries. Set a long random secret, shared with the receiver',
    );
  return { url: notifyUrl, secret };
}

/**
 * Checks a run-finished notice's URL (`name`: the variable or option it came from): http(s) only,
 * cleartext only to this machine unless insecure endpoints are allowed.
 */
export function checkNotifyUrl(value: string, name: string, allowInsecure: boolean): void {
  url({ [name]: value }, name, ['http:', 'https:'], 'https://hooks.example.com/macao-ocr');
  requireTls(name, value, allowInsecure);
}

function parseDashboard(env: Env): Config['dashboard'] {
  const user = str(env, 'MACAO_OCR_DASHBOARD_USER');
  const password = str(env, 'MACAO_OCR_DASHBOARD_PASSWORD');
  if ((user === undefined) !== (password === undefined)) {
    throw new ConfigError(
      `MACAO_OCR_DASHBOARD_USER and MACAO_OCR_DASHBOARD_PASSWORD must be set together (the dashboard's login), or neither; only ${user === undefined ? 'MACAO_OCR_DASHBOARD_PASSWORD' : 'MACAO_OCR_DASHBOARD_USER'} is set`,
    );
  }
  return user !== undefined && password !== undefined ? { user, password } : {};
}

/** The credentials, or a {@link ConfigError} saying which variable to set. */
export function requireCredentials(config: Config): {
  secretId: string;
  secretKey: string;
  sessionToken?: string;
} {
  const { secretId, secretKey, sessionToken } = config.tencent;
  const missing = [!secretId && 'TENCENTCLOUD_SECRET_ID', !secretKey && 'TENCENTCLOUD_SECRET_KEY'].filter(
    Boolean,
  );
  if (!secretId || !secretKey) {
    throw new ConfigError(
      `${missing.join(' and ')} must be set: the Tencent Cloud API key pair (console: CAM > API Keys), in the environment or .env`,
    );
  }
  return { secretId, secretKey, ...(sessionToken ? { sessionToken } : {}) };
}

/**
 * The account whose quota `OCR_QPS` is: `OCR_QUOTA_KEY`, else the SecretId; undefined when
 * neither is set (no worker can run then).
 */
export function quotaAccount(config: Config): string | undefined {
  return config.ocr.quotaKey ?? config.tencent.secretId;
}

/** The configuration for printing: secrets masked, passwords and signatures in URLs hidden. */
export function maskedConfig(config: Config): Record<string, unknown> {
  const mask = (v: string | undefined): string | undefined =>
    v ? `${v.slice(0, 4)}…(${v.length} chars)` : undefined;
  const maskOptional = (v: string | undefined): string | undefined => (v ? maskSecrets(v) : undefined);
  return {
    ...config,
    redisUrl: maskSecrets(config.redisUrl),
    databaseUrl: maskOptional(config.databaseUrl),
    s3: {
      ...config.s3,
      endpoint: maskOptional(config.s3.endpoint),
      presignEndpoint: maskOptional(config.s3.presignEndpoint),
    },
    tencent: {
      secretId: mask(config.tencent.secretId),
      secretKey: config.tencent.secretKey ? '***' : undefined,
      sessionToken: config.tencent.sessionToken ? '***' : undefined,
    },
    ocr: { ...config.ocr, endpoint: maskSecrets(config.ocr.endpoint), proxy: maskOptional(config.ocr.proxy) },
    notify: {
      url: maskOptional(config.notify.url),
      secret: config.notify.secret ? '***' : undefined,
    },
    dashboard: {
      ...config.dashboard,
      ...(config.dashboard.password === undefined ? {} : { password: '***' }),
    },
  };
}
