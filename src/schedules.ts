import { type Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from './log.js';
import { maskSecrets } from './maskSecrets.js';
import type { EnqueueOptions } from './producer/enqueueRun.js';
import type { Priority } from './results/types.js';
import type { Services } from './services.js';

/**
 * Schedules: runs made by the workers themselves, on a cron expression, instead of by a crontab
 * on some machine. Each is a BullMQ job scheduler on the card queue's companion queue
 * (`<queue>-schedules`): BullMQ makes one job per tick, whoever asks first, and one worker
 * takes it, so a tick is one run however many workers run. The tick's run id is derived from the
 * schedule and the tick's time: a tick run again after a crash carries on the same run.
 */

/** The default time zone of a schedule's cron expression. */
export const DEFAULT_SCHEDULE_TZ = 'Asia/Macau';

/** What a tick enqueues: the enqueue options as `schedule add` was given them. */
export interface ScheduledEnqueue {
  sources: string[];
  manifest?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  reprocess?: EnqueueOptions['reprocess'];
  pairPattern?: string | undefined;
  skipBadLines?: boolean;
  priority: Priority;
  window: number;
  notifyUrl?: string | undefined;
}

/** A schedule as `schedule list` shows it. */
export interface ScheduleInfo {
  name: string;
  cron: string;
  tz: string;
  /** The next tick, ISO time; null if none is due. */
  next: string | null;
  sources: string[];
  priority: Priority;
  /** The notice URL, masked. */
  notify: string | null;
}

/** A schedule that cannot be added or removed as asked: the CLI exits 2 with the message. */
export class ScheduleError extends Error {
  override readonly name = 'ScheduleError';
}

const JOB_NAME = 'scheduled-run';

/** The queue that holds the schedules of card queue `cardQueue`. */
export function schedulesQueueName(cardQueue: string): string {
  return `${cardQueue}-schedules`;
}

/**
 * Checks a schedule before anything is written: its name, time zone and cron expression (five
 * fields, or six with seconds first).
 */
export async function checkSchedule(name: string, cron: string, tz: string): Promise<void> {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name))
    throw new ScheduleError(`a schedule's name is 1-64 letters, digits, '.', '_' or '-', got \`${name}\``);
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
  } catch {
    throw new ScheduleError(`--tz: unknown time zone \`${tz}\` (an IANA name such as Asia/Macau or UTC)`);
  }
  const { CronExpressionParser } = await import('cron-parser');
  const fields = cron.trim().split(/\s+/).length;
  try {
    if (fields < 5 || fields > 6) throw new Error(`${fields} fields`);
    CronExpressionParser.parse(cron, { tz, strict: false }).next();
  } catch (e) {
    throw new ScheduleError(
      `--cron: \`${cron}\` is not a cron expression (${(e as Error).message}): five fields, minute hour day-of-month month day-of-week, or six with seconds first, e.g. "0 2 * * *" for 02:00 every day`,
    );
  }
}

/** Adds schedule `name`; a name already taken is an error, and nothing is changed then. */
export async function addSchedule(
  queue: Queue,
  spec: { name: string; cron: string; tz: string; enqueue: ScheduledEnqueue },
): Promise<ScheduleInfo> {
  await checkSchedule(spec.name, spec.cron, spec.tz);
  if (await queue.getJobScheduler(spec.name))
    throw new ScheduleError(
      `a schedule named \`${spec.name}\` exists already: remove it first (macao-ocr schedule remove ${spec.name}) or choose another name`,
    );
  await queue.upsertJobScheduler(
    spec.name,
    { pattern: spec.cron, tz: spec.tz },
    {
      name: JOB_NAME,
      data: spec.enqueue,
      opts: {
        attempts: 3,
        backoff: { type: 'exponential', delay: 5_000 },
        removeOnComplete: 100,
        removeOnFail: 100,
      },
    },
  );
  const info = (await listSchedules(queue)).find((s) => s.name === spec.name);
  if (!info) throw new Error(`schedule ${spec.name} was not recorded`);
  return info;
}

export async function listSchedules(queue: Queue): Promise<ScheduleInfo[]> {
  const all = await queue.getJobSchedulers(0, -1, true);
  return all.map((s) => {
    const data = s.template?.data as ScheduledEnqueue | undefined;
    return {
      name: s.id ?? s.key,
      cron: s.pattern ?? '',
      tz: s.tz ?? 'UTC',
      next: s.next ? new Date(s.next).toISOString() : null,
      sources: [...(data?.sources ?? []), ...(data?.manifest ? [`manifest:${data.manifest}`] : [])],
      priority: data?.priority ?? 'normal',
      notify: data?.notifyUrl ? maskSecrets(data.notifyUrl) : null,
    };
  });
}

/** Removes schedule `name`; false if there was none. Runs it made stay. */
export function removeSchedule(queue: Queue, name: string): Promise<boolean> {
  return queue.removeJobScheduler(name);
}

/** The run id of schedule `name`'s tick at `tickMs`: `r20261201-020000-nightly`. */
export function tickRunId(name: string, tickMs: number): string {
  const t = new Date(tickMs).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `r${t}-${name}`;
}

/** A running schedule worker. */
export interface ScheduleWorker {
  close(): Promise<void>;
}

/**
 * Takes the ticks of every schedule of the card queue, one at a time: each is a run made as
 * `enqueue` makes it, then `MACAO_OCR_RETAIN_DAYS` applied when set.
 */
export async function startScheduleWorker(opts: {
  services: Services;
  connection: Redis;
  log: Logger;
  retainDays?: number | undefined;
}): Promise<ScheduleWorker> {
  const { services, log } = opts;
  const { enqueueRun } = await import('./producer/enqueueRun.js');
  const worker = new Worker<ScheduledEnqueue>(
    schedulesQueueName(services.queue.name),
    async (job: Job<ScheduledEnqueue>) => {
      const name = job.repeatJobKey ?? 'schedule';
      const tickMs = Number(/:(\d+)$/.exec(job.id ?? '')?.[1] ?? job.timestamp);
      const runId = tickRunId(name, tickMs);
      const d = job.data;
      const r = await enqueueRun({
        sources: d.sources,
        manifest: d.manifest,
        since: d.since ? new Date(d.since) : undefined,
        until: d.until ? new Date(d.until) : undefined,
        reprocess: d.reprocess,
        pairPattern: d.pairPattern,
        skipBadLines: d.skipBadLines ?? false,
        priority: d.priority,
        window: d.window,
        notifyUrl: d.notifyUrl,
        runId,
        s3: services.s3,
        store: services.store,
        queue: services.queue,
        redis: services.redis,
        logger: log,
      });
      log.info({ schedule: name, runId, enqueued: r.counts.enqueued }, 'scheduled run enqueued');
      if (opts.retainDays !== undefined) {
        const { applyRetention } = await import('./personalData/purge.js');
        const counts = await applyRetention(services, opts.retainDays);
        log.info({ schedule: name, ...counts }, 'retention applied (MACAO_OCR_RETAIN_DAYS)');
      }
      return { runId, enqueued: r.counts.enqueued };
    },
    { connection: opts.connection, prefix: services.queue.opts.prefix, concurrency: 1, autorun: true },
  );
  worker.on('failed', (job, err) => {
    log.error({ schedule: job?.repeatJobKey, err }, 'a scheduled run failed; BullMQ tries the tick again');
  });
  await worker.waitUntilReady();
  return {
    async close() {
      await worker.close();
    },
  };
}

/** The schedules queue of `services`' card queue (close it after use). */
export function openSchedulesQueue(services: Pick<Services, 'queue' | 'redis'>): Queue<ScheduledEnqueue> {
  return new Queue<ScheduledEnqueue>(schedulesQueueName(services.queue.name), {
    connection: services.redis,
    prefix: services.queue.opts.prefix,
  });
}
