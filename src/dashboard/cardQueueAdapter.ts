import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import type { Job, Queue } from 'bullmq';
import type { CardJobData } from '../queue.js';
import { applyIdentityFormatters, formatFailedReason, formatJobData } from './formatters.js';

/**
 * The card queue as bull-board reads it. bull-board lets an adapter format a job's data, return
 * value, name and progress, but shows `failedReason`, `stacktrace`, the job's log and a
 * scheduler's template data as Redis holds them: this adapter passes those through the same
 * allow-lists before bull-board sees them.
 */
export class CardQueueAdapter extends BullMQAdapter {
  constructor(queue: Queue<CardJobData>, readOnly: boolean) {
    super(queue, {
      readOnlyMode: readOnly,
      allowRetries: !readOnly,
      description: readOnly ? 'macao-ocr card jobs (read-only)' : 'macao-ocr card jobs',
    });
    applyIdentityFormatters(this);
  }

  override async getJob(id: string): Promise<Job | undefined> {
    const job = await super.getJob(id);
    return job ? shown(job) : job;
  }

  override async getJobs(...args: Parameters<BullMQAdapter['getJobs']>): Promise<Job[]> {
    return (await super.getJobs(...args)).map(shown);
  }

  /** Our workers write no job log; whatever is there is not ours to show. */
  override getJobLogs(_id: string): Promise<string[]> {
    return Promise.resolve([]);
  }

  override async getJobSchedulers(): ReturnType<BullMQAdapter['getJobSchedulers']> {
    return (await super.getJobSchedulers()).map((s) =>
      s.template ? { ...s, template: { ...s.template, data: formatJobData(s.template.data) } } : s,
    );
  }
}

/**
 * The job, its JSON form (what bull-board reads) carrying the failure's code only and no stack.
 * The job itself is left whole: retry, remove and the other actions work on it as BullMQ made it.
 */
function shown(job: Job): Job {
  const toJSON = job.toJSON.bind(job);
  job.toJSON = () =>
    ({
      ...toJSON(),
      failedReason: formatFailedReason(job.failedReason),
      // None: stack frames name files, keys and URLs.
      stacktrace: [],
    }) as ReturnType<Job['toJSON']>;
  return job;
}
