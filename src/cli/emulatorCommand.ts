import type { Command } from 'commander';
import { startEmulator } from '../emulator/emulatorServer.js';
import type { EmulatorCredential } from '../emulator/options.js';
import { parseCredentials, parseFaults, parseLatency } from '../emulator/parseFlags.js';
import { createLogger } from '../log.js';
import { intOption } from './options.js';
import { UsageError } from './usageError.js';

export function registerEmulatorCommand(program: Command): void {
  program
    .command('emulator')
    .description(
      'run the local RecognizeMacaoIDCardOCR emulator (a test double, not OCR: it recognizes only specimen cards from `samples`)',
    )
    .option('--port <N>', 'TCP port on 127.0.0.1 (0: a free one)', '9000')
    .option(
      '--host <ADDR>',
      'interface to listen on; the control endpoints are unauthenticated, keep it on loopback',
      '127.0.0.1',
    )
    .option('--qps <N>', 'requests per second allowed per SecretId (0: unlimited)', '0')
    .option('--latency-ms <MIN-MAX>', 'latency added to every answer, e.g. 100-600', '0-0')
    .option(
      '--faults <CODE=RATE,...>',
      'inject faults, e.g. FailedOperation.OcrFailed=0.1,http502=0.01,drop=0.01',
    )
    .option(
      '--credentials <ID:KEY[:TOKEN],...>',
      'accepted key pairs besides TENCENTCLOUD_SECRET_ID/TENCENTCLOUD_SECRET_KEY',
    )
    .option('--seed <N>', 'seed of the fault and latency draws', '1')
    .action(
      async (o: {
        port: string;
        host: string;
        qps: string;
        latencyMs: string;
        faults?: string;
        credentials?: string;
        seed: string;
      }) => {
        const credentials: EmulatorCredential[] = [];
        const id = process.env.TENCENTCLOUD_SECRET_ID;
        const key = process.env.TENCENTCLOUD_SECRET_KEY;
        if (id && key)
          credentials.push({
            secretId: id,
            secretKey: key,
            ...(process.env.TENCENTCLOUD_SESSION_TOKEN
              ? { token: process.env.TENCENTCLOUD_SESSION_TOKEN }
              : {}),
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
            port: intOption('--port', o.port, 0, 65535),
            qps: intOption('--qps', o.qps, 0),
            latencyMs: parseLatency(o.latencyMs),
            ...(o.faults ? { faults: parseFaults(o.faults) } : {}),
            credentials,
            seed: intOption('--seed', o.seed, 0),
            logger: createLogger({ name: 'emulator' }),
          });
          console.log(
            `emulator listening on ${emulator.url} (a test double: it recognizes only specimen cards)`,
          );
          console.log(`  OCR_ENDPOINT=${emulator.url}   stats: curl ${emulator.url}/_emulator/stats`);
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
      },
    );
}
