import type { Command } from 'commander';
import { loadDotEnv, parseConfig } from '../config.js';
import type { Services } from '../services.js';
import { auditCommand } from './common.js';
import { addEnqueueFlags, type EnqueueFlags, enqueueOptionsFrom, formatCounts } from './enqueueCommand.js';
import { collect } from './options.js';
import { progressPrinter } from './progress.js';
import { addWorkFlags, type WorkFlags, workerOptionsFrom } from './workCommand.js';

/** `MACAO_OCR_RETAIN_DAYS`: after a run, the personal data of cards finished longer ago goes. */
async function applyRetention(services: Services, days: number): Promise<void> {
  const { applyRetention: purgeOld } = await import('../personalData/purge.js');
  const counts = await purgeOld(services, days);
  console.log(
    `\nretention (MACAO_OCR_RETAIN_DAYS=${days}): purged ${counts.cards} cards finished more than ${days} days ago, ${counts.portraits} portraits` +
      (counts.kept ? `; ${counts.kept} kept: the object store refused to delete one of their objects` : ''),
  );
}

export function registerRunCommand(program: Command): void {
  addWorkFlags(
    addEnqueueFlags(
      program
        .command('run')
        .description(
          'enqueue, work in this process until the run is drained, print its report (exit 3 when cards failed)',
        )
        .argument('[SOURCE...]', 's3://bucket/prefix, one or more', collect, [] as string[]),
    ),
  ).action(async (sources: string[], o: EnqueueFlags & WorkFlags) => {
    loadDotEnv();
    const config = parseConfig();
    const enqueueOpts = enqueueOptionsFrom(sources, o, config);
    const worker = await workerOptionsFrom(config, o);
    const [{ createLogger }, { runPipeline }, { openOcrClient, openServices }, { formatRunReport }] =
      await Promise.all([
        import('../log.js'),
        import('../runPipeline.js'),
        import('../services.js'),
        import('../results/report.js'),
      ]);
    const log = createLogger({ name: 'run', level: config.logLevel, stream: 'stderr' });
    const client = await openOcrClient(config);
    const services = await openServices(config);
    const stop = new AbortController();
    const onSignal = (): void => {
      if (stop.signal.aborted) process.exit(130);
      console.error(
        '\nstopping: cards in flight finish, the rest stay queued for the next `run` or `work` (a second signal exits now)',
      );
      stop.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const progress = progressPrinter(process.stdout);
    try {
      const r = await runPipeline({
        ...enqueueOpts,
        services,
        client,
        worker,
        logger: log,
        signal: stop.signal,
        onEnqueued: (c, runId) => console.log(`run ${runId}: ${formatCounts(c)}`),
        onProgress: progress.update,
      });
      progress.done();
      if (r.report) console.log(`\n${formatRunReport(r.report)}`);
      if (enqueueOpts.reprocess && r.runId) {
        // Sending cards again pays for them again: who asked for it is kept.
        await auditCommand(services.store, 'run', { enqueued: r.report?.summary.enqueued ?? 0 });
      }
      if (config.retainDays !== undefined && !r.interrupted)
        await applyRetention(services, config.retainDays);
      if (r.paused) {
        const { describePause } = await import('../worker/circuitBreaker.js');
        console.error(`\nthe queue is paused: ${describePause(r.paused)}`);
        process.exitCode = 1;
      } else if (r.interrupted) process.exitCode = 1;
      else if ((r.report?.summary.counts.failed ?? 0) > 0) process.exitCode = 3;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      client.close();
      await services.close();
    }
  });
}
