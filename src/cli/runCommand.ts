import type { Command } from 'commander';
import { loadDotEnv, parseConfig } from '../config.js';
import { formatRunReport } from '../results/report.js';
import { addEnqueueFlags, type EnqueueFlags, enqueueOptionsFrom, formatCounts } from './enqueueCommand.js';
import { collect } from './options.js';
import { progressPrinter } from './progress.js';
import { addWorkFlags, type WorkFlags, workerOptionsFrom } from './workCommand.js';

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
    const enqueueOpts = enqueueOptionsFrom(sources, o);
    const worker = await workerOptionsFrom(config, o);
    const [{ createLogger }, { runPipeline }, { openOcrClient, openServices }] = await Promise.all([
      import('../log.js'),
      import('../runPipeline.js'),
      import('../services.js'),
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
      if (r.paused) {
        console.error(`\nthe queue is paused: ${r.paused.code}. ${r.paused.hint}`);
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
