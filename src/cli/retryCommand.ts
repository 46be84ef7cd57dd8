import type { Command } from 'commander';
import { auditCommand, resolveRun, withQueueServices } from './common.js';
import { addRetryBoundFlags, retryBoundsFrom } from './enqueueCommand.js';
import { keepHeapSmall } from './heap.js';
import { priorityOption } from './options.js';

export function registerRetryCommands(program: Command): void {
  const retry = program
    .command('retry')
    .description('put a run’s failed cards back in the queue (workers pick them up)')
    .argument('[RUN]', 'run id (default: the newest run)')
    .option('--code <CODE>', 'only cards whose last error code is CODE')
    .option('--priority <high|normal|low>', "the run's priority from now on (default: the one it has)");
  addRetryBoundFlags(retry).action(
    async (
      run: string | undefined,
      o: { code?: string; priority?: string; attempts?: string; maxRetryMinutes?: string },
    ) => {
      const priority = o.priority === undefined ? undefined : priorityOption(o.priority);
      const bounds = retryBoundsFrom(o);
      keepHeapSmall();
      const { retryFailed } = await import('../producer/retryFailed.js');
      await withQueueServices(async (s) => {
        const runId = await resolveRun(s.store, run);
        const n = await retryFailed({
          store: s.store,
          queue: s.queue,
          runId,
          code: o.code,
          priority,
          ...bounds,
        });
        await auditCommand(s.store, 'retry', { queued: n });
        console.log(
          n === 0
            ? `run ${runId} has no failed cards${o.code ? ` with ${o.code}` : ''}`
            : `run ${runId}: ${n} failed cards queued again`,
        );
      });
    },
  );
  program
    .command('resume')
    .description('continue after a fatal API error paused every worker (fix its cause first)')
    .option('--force', 'resume even while workers still sign with the credential the API refused')
    .action(async (o: { force?: boolean }) => {
      const { resumeQueue } = await import('../worker/circuitBreaker.js');
      await withQueueServices(async (s) => {
        const r = await resumeQueue(s.queue, s.redis, s.store, { force: o.force ?? false });
        if (!r.resumed) {
          const where = r.holders.map((w) => `${w.host}:${w.pid}`).join(', ');
          console.error(
            `macao-ocr: not resumed: ${r.holders.length} running worker(s) still sign with the refused SecretId ${r.reason.secretId} (${where}), and the queue would pause again within seconds. Restart them with the fixed credential first, or run \`macao-ocr resume --force\`.`,
          );
          process.exitCode = 1;
          return;
        }
        await s.store.audit({ command: 'resume', args: [], counts: { wasPaused: r.reason ? 1 : 0 } });
        console.log(
          r.reason ? `resumed (it was paused for ${r.reason.code})` : 'resumed (it was not paused)',
        );
      });
    });
}
