import type { Command } from 'commander';
import { loadDotEnv, parseConfig } from '../config.js';
import { defaultWindow } from '../defaults.js';
import { withQueueServices } from './common.js';
import { addEnqueueFlags, type EnqueueFlags, enqueueOptionsFrom } from './enqueueCommand.js';
import { collect } from './options.js';
import { UsageError } from './usageError.js';

export function registerScheduleCommand(program: Command): void {
  const schedule = program
    .command('schedule')
    .description('runs the workers make by themselves on a cron expression (kept in Redis)');

  addEnqueueFlags(
    schedule
      .command('add')
      .description(
        'add a schedule: every tick, one run as `enqueue` would make it, fired by any running worker',
      )
      .argument('<NAME>', 'the schedule’s name: letters, digits, . _ -')
      .argument('[SOURCE...]', 's3://bucket/prefix, one or more', collect, [] as string[])
      .requiredOption(
        '--cron <EXPR>',
        'five fields (minute hour day month weekday), or six with seconds first',
      )
      .option('--tz <ZONE>', 'the time zone of the cron expression', 'Asia/Macau'),
  ).action(async (name: string, sources: string[], o: EnqueueFlags & { cron: string; tz: string }) => {
    loadDotEnv();
    const config = parseConfig();
    const e = enqueueOptionsFrom(sources, o, config);
    const { addSchedule, checkSchedule, openSchedulesQueue, ScheduleError } = await import('../schedules.js');
    await rethrowAsUsage(ScheduleError, () => checkSchedule(name, o.cron, o.tz));
    await withQueueServices(async (s) => {
      const queue = openSchedulesQueue(s);
      try {
        const info = await rethrowAsUsage(ScheduleError, () =>
          addSchedule(queue, {
            name,
            cron: o.cron,
            tz: o.tz,
            enqueue: {
              sources: e.sources ?? [],
              manifest: e.manifest,
              since: e.since?.toISOString(),
              until: e.until?.toISOString(),
              reprocess: e.reprocess,
              pairPattern: e.pairPattern,
              skipBadLines: e.skipBadLines ?? false,
              priority: e.priority ?? 'normal',
              window: e.window ?? defaultWindow(config.ocr.qps),
              notifyUrl: e.notifyUrl,
            },
          }),
        );
        await s.store.audit({ command: 'schedule add', args: process.argv.slice(4), counts: {} });
        console.log(
          `schedule ${info.name}: ${info.cron} (${info.tz}), priority ${info.priority}, next ${info.next ?? '-'}; any running \`macao-ocr work\` fires it`,
        );
      } finally {
        await queue.close();
      }
    });
  });

  schedule
    .command('list')
    .description('the schedules, with their next tick')
    .option('--json', 'one JSON array')
    .action(async (o: { json?: boolean }) => {
      const { listSchedules, openSchedulesQueue } = await import('../schedules.js');
      await withQueueServices(async (s) => {
        const queue = openSchedulesQueue(s);
        try {
          const all = await listSchedules(queue);
          if (o.json) console.log(JSON.stringify(all));
          else if (all.length === 0) console.log('no schedules: add one with `macao-ocr schedule add`');
          else
            for (const x of all)
              console.log(
                `${x.name}  ${x.cron}  ${x.tz}  next ${x.next ?? '-'}  priority ${x.priority}  ${x.sources.join(' ')}${x.notify ? `  notify ${x.notify}` : ''}`,
              );
        } finally {
          await queue.close();
        }
      });
    });

  schedule
    .command('remove')
    .description('remove a schedule (the runs it made stay)')
    .argument('<NAME>')
    .action(async (name: string) => {
      const { openSchedulesQueue, removeSchedule } = await import('../schedules.js');
      await withQueueServices(async (s) => {
        const queue = openSchedulesQueue(s);
        try {
          if (!(await removeSchedule(queue, name)))
            throw new UsageError(`no schedule named \`${name}\` (macao-ocr schedule list shows them)`);
          await s.store.audit({ command: 'schedule remove', args: [name], counts: {} });
          console.log(`schedule ${name} removed`);
        } finally {
          await queue.close();
        }
      });
    });
}

/** `fn`, with an error of class `kind` turned into a usage error (exit 2). */
async function rethrowAsUsage<T>(kind: new (...a: never[]) => Error, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof kind) throw new UsageError(e.message);
    throw e;
  }
}
