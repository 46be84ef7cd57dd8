import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import pino, { type Logger, type LoggerOptions } from 'pino';
import { statusLine } from './statusLine.js';

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

/** Where readable log lines go: the terminal, around the {@link statusLine}. Synchronous, so no line is lost at exit. */
function terminalDestination(fd: number): Writable {
  return new Writable({
    decodeStrings: false,
    write(chunk: Buffer | string, _encoding, callback) {
      const status = statusLine.text;
      if (status) writeSync(fd, '\r\u001b[K');
      writeSync(fd, typeof chunk === 'string' ? chunk : chunk.toString());
      if (status) statusLine.out?.write(`\r${status}\u001b[K`);
      callback();
    },
  });
}

/** Set on a logger that writes for a person at a terminal (children inherit it). */
const FOR_A_PERSON = Symbol('macao-ocr.logForAPerson');

/**
 * The level of a line written once per card (`card done`, a transient failure retried): `debug`
 * on a terminal, where a person reads one progress line and the warnings that matter (the
 * per-card lines show with LOG_LEVEL=debug); `level` (default info) in JSON lines for machines.
 */
export function perCardLevel(log: Logger, level: 'info' | 'warn' = 'info'): 'debug' | 'info' | 'warn' {
  return (log as Logger & { [FOR_A_PERSON]?: boolean })[FOR_A_PERSON] ? 'debug' : level;
}

/**
 * The project's logger: JSON lines with ISO times, card data and secrets redacted; on a
 * terminal, one readable line per entry with the local time.
 */
export function createLogger(opts: LogOptions = {}): Logger {
  const options: LoggerOptions = {
    level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: opts.name ? { component: opts.name } : {},
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (opts.destination) return pino(options, opts.destination);
  const out = opts.stream === 'stderr' ? process.stderr : process.stdout;
  // JSON lines for machines; on a terminal, readable lines (redaction has happened before either).
  // Synchronous writes: the CLI exits as soon as a command is done, and must not lose the last lines.
  if (out.isTTY && process.env.LOG_FORMAT !== 'json') {
    // Loaded only for a terminal: a worker under systemd or in a container never needs it.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
    const logger = pino(
      options,
      pretty({
        colorize: true,
        translateTime: 'SYS:HH:MM:ss',
        ignore: 'pid,hostname,component',
        singleLine: true,
        destination: terminalDestination(out.fd),
      }),
    );
    return Object.assign(logger, { [FOR_A_PERSON]: true });
  }
  return pino(options, pino.destination({ fd: out.fd, sync: true }));
}

/** A logger that writes nothing, for library callers that pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });
