import { UsageError } from '../cli/usageError.js';
import { createLogger } from '../log.js';
import { startEmulator } from './emulator/emulatorServer.js';
import type { EmulatorCredential } from './emulator/options.js';
import { parseCredentials, parseFaults, parseLatency } from './emulator/parseFlags.js';

/** The flags of `macao-ocr emulator`, numbers already checked. */
export interface EmulatorCommandOptions {
  host: string;
  port: number;
  qps: number;
  latencyMs: string;
  faults?: string | undefined;
  credentials?: string | undefined;
  seed: number;
}

/** `macao-ocr emulator`: serves until SIGINT or SIGTERM; says where through `print` (standard output). */
export async function emulatorCommand(
  o: EmulatorCommandOptions,
  print: (text: string) => void,
): Promise<void> {
  const credentials: EmulatorCredential[] = [];
  const id = process.env.TENCENTCLOUD_SECRET_ID;
  const key = process.env.TENCENTCLOUD_SECRET_KEY;
  if (id && key)
    credentials.push({
      secretId: id,
      secretKey: key,
      ...(process.env.TENCENTCLOUD_SESSION_TOKEN ? { token: process.env.TENCENTCLOUD_SESSION_TOKEN } : {}),
    });
  try {
    if (o.credentials) credentials.push(...parseCredentials(o.credentials));
    if (credentials.length === 0) {
      throw new UsageError(
        'the emulator needs a credential pair: set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY, or pass --credentials ID:KEY',
      );
    }
    const emulator = await startEmulator({
      host: o.host,
      port: o.port,
      qps: o.qps,
      latencyMs: parseLatency(o.latencyMs),
      ...(o.faults ? { faults: parseFaults(o.faults) } : {}),
      credentials,
      seed: o.seed,
      logger: createLogger({ name: 'emulator' }),
    });
    print(`emulator listening on ${emulator.url} (a test double: it recognizes only specimen cards)`);
    print(`  OCR_ENDPOINT=${emulator.url}   stats: curl ${emulator.url}/_emulator/stats`);
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        void emulator.close().then(resolve);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
  } catch (e) {
    if (e instanceof Error && e.name === 'EmulatorConfigError') throw new UsageError(e.message);
    throw e;
  }
}
