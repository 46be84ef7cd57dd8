import type { Command } from 'commander';
import { intOption } from './options.js';
import { loadSandbox } from './sandbox.js';

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
        const port = intOption('--port', o.port, 0, 65535);
        const qps = intOption('--qps', o.qps, 0);
        const seed = intOption('--seed', o.seed, 0);
        const { emulatorCommand } = await loadSandbox('emulator');
        await emulatorCommand({ ...o, port, qps, seed }, (text) => console.log(text));
      },
    );
}
