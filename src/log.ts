import { createRequire } from 'node:module';
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
  /** Destination; default {@link stream}. Tests pass a stream to capture lines. */
  destination?: pino.DestinationStream;
  /** Standard output (default) or standard error, when stdout carries a report. */
  stream?: 'stdout' | 'stderr';
}

/** The project's logger: JSON lines, with card data and secrets redacted. */
export function createLogger(opts: LogOptions = {}): Logger {
  const options: LoggerOptions = {
    level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: opts.name ? { component: opts.name } : {},
  };
  if (opts.destination) return pino(options, opts.destination);
  const out = opts.stream === 'stderr' ? process.stderr : process.stdout;
  // JSON lines for machines; on a terminal, readable lines (redaction has happened before either).
  // Synchronous writes: the CLI exits as soon as a command is done, and must not lose the last lines.
  if (out.isTTY && process.env.LOG_FORMAT !== 'json') {
    // Loaded only for a terminal: a worker under systemd or in a container never needs it.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
    return pino(
      options,
      pretty({
        colorize: true,
        translateTime: 'SYS:HH:MM:ss',
        ignore: 'pid,hostname',
        sync: true,
        destination: out.fd,
      }),
    );
  }
  return pino(options, pino.destination({ fd: out.fd, sync: true }));
}

/** A logger that writes nothing, for library callers that pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });
