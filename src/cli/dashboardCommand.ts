import type { Command } from 'commander';
import { loadDotEnv, maskUrl, parseConfig } from '../config.js';
import { intOption } from './options.js';

export function registerDashboardCommand(program: Command): void {
  program
    .command('dashboard')
    .description(
      'serve the bull-board dashboard of the card queue (jobs by identity only: keys and ETags, never card data)',
    )
    .option('--port <N>', 'TCP port (0: a free one)', '3000')
    .option(
      '--host <ADDR>',
      'interface to listen on; there is no authentication: keep it on loopback or behind a proxy that has',
      '127.0.0.1',
    )
    .option('--allow-actions', 'allow retry, clean, pause, remove and the other actions (default: read-only)')
    .action(async (o: { port: string; host: string; allowActions?: boolean }) => {
      loadDotEnv();
      const config = parseConfig();
      const port = intOption('--port', o.port, 0, 65535);
      const { startDashboard } = await import('../dashboard/index.js');
      const dashboard = await startDashboard({
        redisUrl: config.redisUrl,
        queueName: config.queueName,
        port,
        host: o.host,
        allowActions: o.allowActions ?? false,
      }).catch((e: unknown) => {
        const err = e instanceof Error ? e : new Error(String(e));
        throw new Error(
          `dashboard on ${o.host}:${port} with Redis ${maskUrl(config.redisUrl)}: ${err.message}`,
        );
      });
      console.log(
        `dashboard: ${dashboard.queueUrl} (${dashboard.readOnly ? 'read-only; --allow-actions to retry or clean' : 'actions allowed'}); Ctrl-C stops it`,
      );
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await dashboard.close();
    });
}
