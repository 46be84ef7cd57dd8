import type { Command } from 'commander';
import { type Config, loadDotEnv, parseConfig, quotaAccount } from '../config.js';
import { DEFAULTS } from '../defaults.js';
import type { MetricsServer } from '../metrics/index.js';
import type { CardWorkerOptions } from '../worker/startWorker.js';
import { intOption, numberOption } from './options.js';
import { workerStatusLine } from './progress.js';
import { UsageError } from './usageError.js';

export interface WorkFlags {
  concurrency?: string;
  qps?: string;
  imageMode?: string;
  portraits?: string;
  graceMs?: string;
  lockMs?: string;
}

/** The worker flags shared by `work` and `run`. */
export function addWorkFlags(cmd: Command): Command {
  return cmd
    .option('--concurrency <N>', 'cards in flight in this process (default: follows rate × latency)')
    .option('--qps <N>', 'requests per second for all workers together (default OCR_QPS)')
    .option('--image-mode <url|base64>', 'how images reach the API (default OCR_IMAGE_MODE)')
    .option(
      '--portraits <s3://bucket/prefix>',
      'ask for the portrait crop and store it there (only its key goes to the results)',
    )
    .option(
      '--grace-ms <N>',
      'on SIGTERM/SIGINT, how long in-flight cards may finish before they are put back',
      String(DEFAULTS.graceMs),
    )
    .option(
      '--lock-ms <N>',
      'job lock time: a crashed worker’s cards run again after about this long',
      String(DEFAULTS.lockMs),
    );
}

export async function workerOptionsFrom(
  config: Config,
  o: WorkFlags,
): Promise<
  Pick<
    CardWorkerOptions,
    | 'qps'
    | 'quotaKey'
    | 'notices'
    | 'rateGuardMs'
    | 'imageMode'
    | 'concurrency'
    | 'portraits'
    | 'presignS3'
    | 'presignTtlSec'
    | 'maxPixels'
  >
> {
  const imageMode = o.imageMode ?? config.ocr.imageMode;
  if (imageMode !== 'url' && imageMode !== 'base64')
    throw new UsageError(`--image-mode must be url or base64, got \`${imageMode}\``);
  if (o.portraits && !o.portraits.startsWith('s3://'))
    throw new UsageError(`--portraits must be s3://bucket/prefix, got \`${o.portraits}\``);
  const presignEndpoint = config.s3.presignEndpoint;
  const { createS3Client } = await import('../storage/s3.js');
  return {
    qps: o.qps ? numberOption('--qps', o.qps, 0.01) : config.ocr.qps,
    // Without a SecretId the OCR client refuses to start, with the message that says what to set.
    quotaKey: quotaAccount(config) ?? '',
    notices: { secret: config.notify.secret },
    rateGuardMs: config.ocr.rateGuardMs,
    imageMode,
    concurrency: o.concurrency ? intOption('--concurrency', o.concurrency, 1, 1024) : undefined,
    portraits: o.portraits,
    presignS3: presignEndpoint ? createS3Client({ ...config.s3, endpoint: presignEndpoint }) : undefined,
    presignTtlSec: config.s3.presignTtlSec ?? DEFAULTS.presignTtlSec,
    maxPixels: config.maxPixels,
  };
}

/**
 * Resolves on the first SIGTERM/SIGINT; a second one exits at once. The listeners stay for the
 * process's life: with none left even for an instant, Node restores the default action, and a
 * second signal arriving then would kill the process without its exit code.
 */
export function onceStopSignal(log: { warn: (msg: string) => void }): Promise<string> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (sig: string, exitCode: number): void => {
      if (stopping) process.exit(exitCode);
      stopping = true;
      log.warn(`${sig}: taking no new cards, finishing the ones in flight (a second signal exits now)`);
      resolve(sig);
    };
    process.on('SIGINT', () => onSignal('SIGINT', 130));
    process.on('SIGTERM', () => onSignal('SIGTERM', 143));
  });
}

export function registerWorkCommand(program: Command): void {
  addWorkFlags(
    program
      .command('work')
      .description('a long-running worker: takes card jobs and calls the OCR API at the shared rate')
      .option('--metrics-port <N>', 'serve Prometheus metrics at http://ADDR:N/metrics (default: none)')
      .option(
        '--metrics-host <ADDR>',
        'interface of --metrics-port; unauthenticated: loopback, or a private network only',
        '127.0.0.1',
      ),
  ).action(async (o: WorkFlags & { metricsPort?: string; metricsHost?: string }) => {
    loadDotEnv();
    const config = parseConfig();
    const graceMs = intOption('--grace-ms', o.graceMs ?? String(DEFAULTS.graceMs), 0);
    const metricsPort = o.metricsPort ? intOption('--metrics-port', o.metricsPort, 0, 65535) : undefined;
    const lockMs = intOption('--lock-ms', o.lockMs ?? String(DEFAULTS.lockMs), 1000);
    const { createLogger } = await import('../log.js');
    const log = createLogger({ name: 'worker', level: config.logLevel });
    // Listening before anything is opened: a SIGTERM while the worker starts (it may already
    // have taken cards when startCardWorker returns) is a graceful stop, not the default kill.
    const stopped = onceStopSignal(log);
    const wopts = await workerOptionsFrom(config, o);
    const [
      { openOcrClient, openServices },
      { startCardWorker },
      { startScheduleWorker },
      { createRedis },
      metricsModule,
    ] = await Promise.all([
      import('../services.js'),
      import('../worker/startWorker.js'),
      import('../schedules.js'),
      import('../queue.js'),
      metricsPort === undefined ? undefined : import('../metrics/index.js'),
    ]);
    const client = await openOcrClient(config);
    const services = await openServices(config);
    const metrics = metricsModule?.createWorkerMetrics();
    let metricsServer: MetricsServer | undefined;
    let status: ReturnType<typeof workerStatusLine> | undefined;
    try {
      // Before the worker: a port already taken stops the process before it takes a card.
      if (metricsModule && metrics && metricsPort !== undefined) {
        const host = o.metricsHost ?? '127.0.0.1';
        metricsServer = await metricsModule
          .serveMetrics(metrics.registry, { port: metricsPort, host })
          .catch((e: unknown) => {
            throw new Error(
              `--metrics-port ${metricsPort}: cannot listen on ${host}: ${(e as Error).message}`,
            );
          });
      }
      const worker = await startCardWorker({
        ...wopts,
        redisUrl: config.redisUrl,
        queueName: config.queueName,
        lockDurationMs: lockMs,
        stalledIntervalMs: Math.max(1000, Math.round(lockMs / 2)),
        s3: services.s3,
        store: services.store,
        client,
        logger: log,
        ...(metrics ? { onCall: metrics.onCall } : {}),
        onOutcome: (event, code) => {
          metrics?.onOutcome(event, code);
          status?.onOutcome(event);
        },
      });
      metrics?.attach(worker);
      // On a terminal, one line redrawn in place says how the worker is doing.
      status = workerStatusLine(process.stdout, worker);
      // Every worker takes schedule ticks too: BullMQ makes one job per tick, one worker takes it.
      const scheduleConnection = createRedis(config.redisUrl);
      const schedules = await startScheduleWorker({
        services,
        connection: scheduleConnection,
        log,
        retainDays: config.retainDays,
      });
      log.info(
        {
          qps: wopts.qps,
          imageMode: wopts.imageMode,
          concurrency: worker.concurrency,
          endpoint: client.endpoint,
          ...(metricsServer ? { metrics: metricsServer.url } : {}),
        },
        'worker started',
      );
      await stopped;
      status.stop();
      await schedules.close();
      scheduleConnection.disconnect();
      await worker.close(graceMs);
      log.info('worker stopped');
    } finally {
      await metricsServer?.close();
      client.close();
      await services.close();
    }
  });
}
