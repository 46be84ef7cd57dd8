import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { CallRecord } from '../ocr/client.js';
import type { Outcome } from '../results/types.js';
import type { OutcomeListener } from '../worker/cardContext.js';
import type { CardWorker } from '../worker/startWorker.js';

/** Options of {@link createWorkerMetrics}. */
export interface WorkerMetricsOptions {
  /** Add prom-client's default process and Node.js metrics (`process_*`, `nodejs_*`); default true. */
  defaultMetrics?: boolean;
  /**
   * How long a scrape waits for Redis (queue depth, effective rate), ms; default 2,000. The
   * worker's connection queues commands while Redis is away: a scrape must not hang with it.
   */
  redisTimeoutMs?: number;
}

/** The queue states reported by `macao_ocr_queue_jobs` (`waiting` includes prioritized jobs, as `status` does). */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

/** The final outcomes of `macao_ocr_cards_finished_total`. */
export const FINISHED_OUTCOMES: readonly Outcome[] = ['recognized', 'rejected', 'failed'];

/** The non-final events of `macao_ocr_card_events_total`: the card went back to the queue. */
export const CARD_EVENTS = ['throttled', 'paused', 'deferred'] as const;

/**
 * One worker process's Prometheus metrics, in a registry of its own (not prom-client's global
 * one, so several workers in one process, as in the tests, never share counters). Counters are
 * fed by the worker's `onCall`/`onOutcome` hooks; gauges are read from the worker on scrape.
 */
export interface WorkerMetrics {
  registry: Registry;
  /** Pass as `onCall` of `startCardWorker`. */
  onCall: (record: CallRecord) => void;
  /** Pass as `onOutcome` of `startCardWorker`. */
  onOutcome: OutcomeListener;
  /** Lets the gauges read the worker (in flight, concurrency, effective rate, queue depth). */
  attach(worker: CardWorker): void;
}

const NAME = 'macao_ocr_';

/** Races a Redis read against a timeout; `undefined` when Redis did not answer in time. */
async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([p.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The worker the gauges read on scrape; none until {@link WorkerMetrics.attach}. */
interface Attached {
  worker: CardWorker | undefined;
}

/** Creates the metrics of one worker process. */
export function createWorkerMetrics(opts: WorkerMetricsOptions = {}): WorkerMetrics {
  const registry = new Registry();
  const redisTimeoutMs = opts.redisTimeoutMs ?? 2000;
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const attached: Attached = { worker: undefined };
  const { finished, events, calls, latency } = createCounters(registry);
  // Registration order is the order of a scrape: the rate gauges, the process's own, the queue's.
  registerRateGauges(registry, attached, redisTimeoutMs);
  registerLoadGauges(registry, attached);
  registerQueueGauge(registry, attached, redisTimeoutMs);

  return {
    registry,
    onCall(rec) {
      calls.inc({ code: rec.code });
      latency.observe(rec.latencyMs / 1000);
    },
    onOutcome(outcome, _code) {
      if (outcome === 'throttled' || outcome === 'paused' || outcome === 'deferred')
        events.inc({ event: outcome });
      else if (outcome !== 'skipped') finished.inc({ outcome });
    },
    attach(w) {
      attached.worker = w;
    },
  };
}

/** The counters fed by the worker's hooks, each with its known series at zero. */
function createCounters(registry: Registry) {
  const finished = new Counter({
    name: `${NAME}cards_finished_total`,
    help: 'Cards finished by this process, by outcome (recognized, rejected, failed)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const events = new Counter({
    name: `${NAME}card_events_total`,
    help: 'Cards put back in the queue without an outcome: throttled (rate exceeded), paused (a fatal code stopped every worker), deferred (shutdown)',
    labelNames: ['event'] as const,
    registers: [registry],
  });
  const calls = new Counter({
    name: `${NAME}api_calls_total`,
    help: 'RecognizeMacaoIDCardOCR calls made by this process, by answer code (OK or the error code)',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: `${NAME}api_call_duration_seconds`,
    help: 'Time from sending a RecognizeMacaoIDCardOCR call to its answer, seconds',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10],
    registers: [registry],
  });
  // Zero series from the start: a rate() over a counter that appears late misses its first step.
  for (const o of FINISHED_OUTCOMES) finished.inc({ outcome: o }, 0);
  for (const e of CARD_EVENTS) events.inc({ event: e }, 0);
  calls.inc({ code: 'OK' }, 0);
  return { finished, events, calls, latency };
}

/** `redis_up` and `effective_qps`: the shared rate, read from Redis on scrape. */
function registerRateGauges(registry: Registry, attached: Attached, redisTimeoutMs: number): void {
  new Gauge({
    name: `${NAME}redis_up`,
    help: 'Whether Redis answered this scrape in time (1) or not (0): the queue and rate gauges are unknown then',
    registers: [registry],
    async collect() {
      const { worker } = attached;
      if (!worker) return;
      // One small read (the rate limiter's hash) stands for all of them.
      const answered = await withTimeout(
        worker.limiter.effectiveQps().then(() => true),
        redisTimeoutMs,
      );
      this.set(answered ? 1 : 0);
    },
  });
  new Gauge({
    name: `${NAME}effective_qps`,
    help: 'Requests per second all workers may send now (the shared rate after slow-downs); NaN when Redis does not answer',
    registers: [registry],
    async collect() {
      const { worker } = attached;
      // An unlabelled gauge cannot be left out of a scrape: NaN says "unknown", 0 would lie.
      if (!worker) return this.set(Number.NaN);
      const qps = await withTimeout(worker.limiter.effectiveQps(), redisTimeoutMs);
      this.set(qps ?? Number.NaN);
    },
  });
}

/** `in_flight_cards` and `concurrency`: this process's load, read from the worker on scrape. */
function registerLoadGauges(registry: Registry, attached: Attached): void {
  new Gauge({
    name: `${NAME}in_flight_cards`,
    help: 'Cards being processed by this process',
    registers: [registry],
    collect() {
      if (attached.worker) this.set(attached.worker.inFlight);
    },
  });
  new Gauge({
    name: `${NAME}concurrency`,
    help: 'Cards this process may process at once (fixed, or following rate × latency)',
    registers: [registry],
    collect() {
      if (attached.worker) this.set(attached.worker.concurrency);
    },
  });
}

/** `queue_jobs`: the whole queue's depth by state, read from Redis on scrape. */
function registerQueueGauge(registry: Registry, attached: Attached, redisTimeoutMs: number): void {
  new Gauge({
    name: `${NAME}queue_jobs`,
    help: 'Jobs in the card queue by state (the whole queue, not only this process)',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      // Absent rather than stale when Redis does not answer.
      this.reset();
      const { worker } = attached;
      if (!worker) return;
      const c = await withTimeout(
        worker.queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed'),
        redisTimeoutMs,
      );
      if (!c) return;
      this.set({ state: 'waiting' }, (c.waiting ?? 0) + (c.prioritized ?? 0));
      this.set({ state: 'active' }, c.active ?? 0);
      this.set({ state: 'delayed' }, c.delayed ?? 0);
      this.set({ state: 'failed' }, c.failed ?? 0);
    },
  });
}
