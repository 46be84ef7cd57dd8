import type { RateLimiter } from './rateLimiter.js';

/** How often the automatic concurrency is looked at again. */
const TUNE_EVERY_MS = 2000;

/**
 * The worker's concurrency when none is fixed: enough calls in flight to keep the shared rate
 * busy while each waits for its answer (rate × observed latency), plus slack for the time spent
 * presenting the image and writing the result, within 2 and a maximum.
 */
export class ConcurrencyTuner {
  /** Latency of recent calls, ms (exponentially weighted). */
  private latencyMs = 1000;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly limiter: RateLimiter,
    private readonly opts: {
      /** `OCR_QPS`, for the concurrency to start with. */
      qps: number;
      /** A fixed concurrency: nothing is tuned. */
      fixed: number | undefined;
      /** The automatic concurrency's upper bound. */
      max: number;
    },
  ) {}

  /** The concurrency to start with: the fixed one, or the rate's at a latency of 1 s. */
  get initial(): number {
    return this.opts.fixed ?? this.bounded(Math.ceil(this.opts.qps * 1.5) + 2);
  }

  /** Counts one call's latency in. */
  observe(latencyMs: number): void {
    this.latencyMs = this.latencyMs * 0.9 + latencyMs * 0.1;
  }

  /** Sets `worker.concurrency` from now on, every 2 s, unless the concurrency is fixed. */
  start(worker: { concurrency: number }): void {
    if (this.opts.fixed !== undefined) return;
    this.timer = setInterval(() => {
      this.automatic()
        .then((n) => {
          if (n !== worker.concurrency) worker.concurrency = n;
        })
        .catch(() => undefined);
    }, TUNE_EVERY_MS);
    this.timer.unref();
  }

  /** Stops setting it (the worker is closing). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async automatic(): Promise<number> {
    const qps = await this.limiter.effectiveQps();
    return this.bounded(Math.ceil((qps * this.latencyMs * 1.5) / 1000) + 2);
  }

  private bounded(n: number): number {
    return Math.max(2, Math.min(this.opts.max, n));
  }
}
