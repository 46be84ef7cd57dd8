import pino, { type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Paths pino blanks out wherever they appear in a log object. Card fields go by their API names,
 * secrets by the official SDK's and ours. The worker never logs these on purpose; this is the net
 * under that care. `*.` covers one level of nesting (e.g. `{ fields: { ID } }`, `{ err: { url } }`).
 */
export const REDACT_PATHS: string[] = (() => {
  const keys = [
    'CnLastName',
    'EnLastName',
    'CnFirstName',
    'EnFirstName',
    'LastNameCode',
    'FirstNameCode',
    'ID',
    'Birthday',
    'FirstIssueDate',
    'CurrentIssueDate',
    'ValidityPeriod',
    'Height',
    'RetImage',
    'ImageUrl',
    'BackImageUrl',
    'ImageBase64',
    'BackImageBase64',
    'fields',
    'secretKey',
    'SecretKey',
    'secretId',
    'token',
    'sessionToken',
    'authorization',
    'Authorization',
    'url',
    'presignedUrl',
    'password',
  ];
  return [...keys, ...keys.map((k) => `*.${k}`)];
})();

/** Options of {@link createLogger}. */
export interface LogOptions {
  /** pino level; default `LOG_LEVEL` or `info`. */
  level?: string;
  /** Component name put on every line (`worker`, `emulator`, ...). */
  name?: string;
  /** Destination; default stdout (fd 1). Tests pass a stream to capture lines. */
  destination?: pino.DestinationStream;
}

/** The project's logger: JSON lines, with card data and secrets redacted. */
export function createLogger(opts: LogOptions = {}): Logger {
  const options: LoggerOptions = {
    level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: opts.name ? { component: opts.name } : {},
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** A logger that writes nothing, for library callers that pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });
