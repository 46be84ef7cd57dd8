import type { Command } from 'commander';
import { type Config, ConfigError, loadDotEnv, parseConfig } from '../config.js';
import type { DashboardAuth } from '../dashboard/basicAuth.js';
import { allowedHostError } from '../dashboard/hostGuard.js';
import { isLoopbackHost } from '../endpoint.js';
import { maskSecrets } from '../maskSecrets.js';
import { collect, intOption } from './options.js';
import { UsageError } from './usageError.js';

/** The command's options, as commander parses them. */
interface DashboardCommandOptions {
  port: string;
  host: string;
  allowedHost?: string[];
  allowActions?: boolean;
}

/**
 * The names and the login the dashboard is started with. A login is required wherever someone
 * other than this machine's user could reach the board, or it could change the queue.
 */
function guards(
  o: DashboardCommandOptions,
  config: Config,
): { allowedHosts: string[]; auth?: DashboardAuth } {
  const allowedHosts = o.allowedHost ?? [];
  for (const name of allowedHosts) {
    const why = allowedHostError(name);
    if (why) throw new UsageError(`--allowed-host \`${name}\` ${why}`);
  }
  const { user, password } = config.dashboard;
  if (user !== undefined && password !== undefined) {
    if (user.includes(':')) throw new ConfigError('MACAO_OCR_DASHBOARD_USER must not contain `:`');
    return { allowedHosts, auth: { user, password } };
  }
  const reasons = [
    ...(isLoopbackHost(o.host) ? [] : [`it listens on ${o.host}, not loopback`]),
    ...(o.allowActions ? ['--allow-actions lets it change the queue'] : []),
  ];
  if (reasons.length > 0) {
    throw new ConfigError(
      `the dashboard needs a login: ${reasons.join(', and ')}. Set MACAO_OCR_DASHBOARD_USER and MACAO_OCR_DASHBOARD_PASSWORD`,
    );
  }
  return { allowedHosts };
}

/** `macao-ocr dashboard`: bull-board for the card queue, behind its host names and login. */
export function registerDashboardCommand(program: Command): void {
  program
    .command('dashboard')
    .description(
      'serve the bull-board dashboard of the card queue (jobs by identity only: keys and ETags, never card data)',
    )
    .option('--port <N>', 'TCP port (0: a free one)', '3000')
    .option(
      '--host <ADDR>',
      'interface to listen on; other than loopback, MACAO_OCR_DASHBOARD_USER and MACAO_OCR_DASHBOARD_PASSWORD must be set',
      '127.0.0.1',
    )
    .option(
      '--allowed-host <NAME>',
      'another host name (or name:port) the dashboard answers to, e.g. behind a proxy; repeatable (default: its address and localhost)',
      collect,
    )
    .option(
      '--allow-actions',
      'allow retry, clean, pause, remove and the other actions (default: read-only); needs MACAO_OCR_DASHBOARD_USER and MACAO_OCR_DASHBOARD_PASSWORD',
    )
    .action(async (o: DashboardCommandOptions) => {
      loadDotEnv();
      const config = parseConfig();
      const port = intOption('--port', o.port, 0, 65535);
      const { allowedHosts, auth } = guards(o, config);
      const { startDashboard } = await import('../dashboard/index.js');
      // The runs' numbers come from the results store (`/api/runs`); actions go to its audit log.
      const [{ ResultsStore }, { runJsonOf, runsJson }] = await Promise.all([
        import('../results/store.js'),
        import('../results/runLifecycle.js'),
      ]);
      const store = await ResultsStore.open({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
      const dashboard = await startDashboard({
        redisUrl: config.redisUrl,
        queueName: config.queueName,
        port,
        host: o.host,
        allowedHosts,
        ...(auth ? { auth } : {}),
        allowActions: o.allowActions ?? false,
        runs: { list: (limit) => runsJson(store, limit), get: (id) => runJsonOf(store, id) },
        ...(o.allowActions
          ? {
              onAction: (a) =>
                store.audit({
                  command: 'dashboard',
                  args: [a.method, a.path, ...(a.user ? [`user=${a.user}`] : [])],
                  counts: { status: a.status },
                }),
            }
          : {}),
      }).catch(async (e: unknown) => {
        await store.close();
        const err = e instanceof Error ? e : new Error(String(e));
        throw new Error(
          `dashboard on ${o.host}:${port} with Redis ${maskSecrets(config.redisUrl)}: ${err.message}`,
        );
      });
      console.log(
        `dashboard: ${dashboard.queueUrl} (${dashboard.readOnly ? 'read-only; --allow-actions to retry or clean' : 'actions allowed'}; ${auth ? 'login required' : 'no login'}); Ctrl-C stops it`,
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
      await store.close();
    });
}
