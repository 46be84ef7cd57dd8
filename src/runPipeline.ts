import type { S3Client } from '@aws-sdk/client-s3';
import { DEFAULTS } from './defaults.js';
import type { Logger } from './log.js';
import { silentLogger } from './log.js';
import type { OcrClient } from './ocr/client.js';
import { type EnqueueCounts, type EnqueueOptions, enqueueRun } from './producer/enqueueRun.js';
import { loadRunReport, type RunReport } from './results/report.js';
import type { RunSummary } from './results/types.js';
import type { Services } from './services.js';
import { type PauseReason, pauseReason } from './worker/circuitBreaker.js';
import { type CardWorkerOptions, startCardWorker } from './worker/startWorker.js';

/** Progress of a run, for the progress bar or the periodic lines. */
export interface RunProgress {
  runId: string;
  counts: RunSummary['counts'];
  /** Cards this run will finish (enqueued). */
  total: number;
  /** Finished cards per second, measured over the run so far. */
  cardsPerSecond: number;
  /** Seconds to go at the measured rate; undefined before anything finished. */
  etaSeconds: number | undefined;
  effectiveQps: number;
}

export interface RunPipelineOptions
  extends Omit<EnqueueOptions, 's3' | 'store' | 'queue' | 'redis' | 'logger' | 'onProgress'> {
  services: Services;
  client: OcrClient;
  /** Worker settings (qps, image mode, concurrency, portraits, ...). */
  worker: Omit<
    CardWorkerOptions,
    'redisUrl' | 's3' | 'store' | 'client' | 'logger' | 'queueName' | 'prefix'
  > & {
    presignS3?: S3Client;
  };
  logger?: Logger;
  onEnqueued?: (counts: EnqueueCounts, runId: string | undefined) => void;
  onProgress?: (p: RunProgress) => void;
  /** How often progress is measured, ms; default 1,000. */
  progressEveryMs?: number;
}

export interface RunPipelineResult {
  runId: string | undefined;
  enqueue: EnqueueCounts;
  report: RunReport | undefined;
  /** Set when a fatal API error paused the queue: the run is not finished. */
  paused: PauseReason | undefined;
  /** Set when the signal stopped the run before it drained. */
  interrupted: boolean;
}

/**
 * `macao-ocr run`: enqueue, then work in this process until every card of the run is finished
 * (or the queue is paused by a fatal error, or the signal says stop), then report.
 */
export async function runPipeline(opts: RunPipelineOptions): Promise<RunPipelineResult> {
  const { services, client } = opts;
  const log = opts.logger ?? silentLogger;
  const { onProgress: _runProgress, ...enqueueOpts } = opts;
  const enq = await enqueueRun({
    ...enqueueOpts,
    onProgress: undefined,
    s3: services.s3,
    store: services.store,
    queue: services.queue,
    redis: services.redis,
    logger: log,
  });
  opts.onEnqueued?.(enq.counts, enq.runId);
  const runId = enq.runId;
  if (!runId || enq.counts.enqueued === 0) {
    return {
      runId,
      enqueue: enq.counts,
      report: runId ? await loadRunReport(services.store, runId) : undefined,
      paused: undefined,
      interrupted: false,
    };
  }
  const worker = await startCardWorker({
    ...opts.worker,
    redisUrl: services.config.redisUrl,
    queueName: services.queue.name,
    s3: services.s3,
    store: services.store,
    client,
    logger: log,
  });
  const started = Date.now();
  let paused: PauseReason | undefined;
  let interrupted = false;
  try {
    for (;;) {
      await new Promise((r) => setTimeout(r, opts.progressEveryMs ?? 1000));
      const summary = await services.store.runSummary(runId);
      if (!summary) throw new Error(`run ${runId} vanished from the results store`);
      const done = summary.counts.recognized + summary.counts.rejected + summary.counts.failed;
      const rate = done / Math.max(0.001, (Date.now() - started) / 1000);
      opts.onProgress?.({
        runId,
        counts: summary.counts,
        total: enq.counts.enqueued,
        cardsPerSecond: rate,
        etaSeconds: rate > 0 ? summary.counts.pending / rate : undefined,
        effectiveQps: await worker.limiter.effectiveQps(),
      });
      if (summary.counts.pending === 0) break;
      paused = await pauseReason(services.queue, services.redis);
      if (paused) break;
      if (opts.signal?.aborted) {
        interrupted = true;
        break;
      }
    }
    if (!paused && !interrupted) {
      await services.store.setRunState(runId, 'done');
      // The run's notice goes before this process ends, not with some other worker's next round.
      await worker.keeper.tick();
    }
  } finally {
    await worker.close(interrupted ? 10_000 : DEFAULTS.graceMs);
  }
  return {
    runId,
    enqueue: enq.counts,
    report: await loadRunReport(services.store, runId),
    paused,
    interrupted,
  };
}
