/** What `GET /_emulator/stats` answers. */
export interface EmulatorStats {
  /** API requests received that got an answer (any status) or were dropped. Control requests are not counted. */
  calls: number;
  /** Calls by outcome: `OK`, an error code, `http502` (injected gateway error) or `drop` (injected dropped connection). */
  byCode: Record<string, number>;
  /** Most API calls that arrived within any 1-second span, whatever their answer: the rate clients sent at. */
  peakPerSecond: number;
  /** Most successful calls admitted within any 1-second span; never above `qps` for one SecretId. */
  peakOkPerSecond: number;
  /** Successful recognitions, which the real service bills. */
  billed: number;
  /** API requests received so far, answered or not (a call in flight counts here before `calls`). */
  received: number;
}

/**
 * The largest number of events within any 1-second span `(x - 1000, x]`. Events may be added out of
 * time order (a call's admission time is known only once it ends), so times are kept sorted and,
 * for each insertion, only the spans containing the new event are re-counted.
 */
export class WindowPeak {
  private times: number[] = [];
  peak = 0;

  add(t: number): void {
    const times = this.times;
    let lo = 0;
    let hi = times.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((times[mid] ?? 0) <= t) lo = mid + 1;
      else hi = mid;
    }
    times.splice(lo, 0, t);
    // Spans that contain t end at an event x with t <= x < t + 1000.
    let first = lo;
    while (first > 0 && (times[first - 1] ?? 0) > t - 1000) first--;
    for (let k = lo; k < times.length && (times[k] ?? 0) < t + 1000; k++) {
      const end = times[k] ?? 0;
      while ((times[first] ?? 0) <= end - 1000) first++;
      if (k - first + 1 > this.peak) this.peak = k - first + 1;
    }
    // Calls run for seconds at most; a minute of history is plenty to place late arrivals.
    if (times.length > 1024 && (times[0] ?? 0) < t - 60_000) {
      let cut = 0;
      while (cut < times.length && (times[cut] ?? 0) < t - 60_000) cut++;
      times.splice(0, cut);
    }
  }

  reset(): void {
    this.times = [];
    this.peak = 0;
  }
}

/** Counts every API call by outcome. Times are monotonic milliseconds (`performance.now()`). */
export class StatsCollector {
  private calls = 0;
  private received = 0;
  private byCode = new Map<string, number>();
  private readonly arrivals = new WindowPeak();
  private readonly okAdmissions = new WindowPeak();

  /** Counts a request as it arrives, before its answer. */
  arrive(): void {
    this.received++;
  }

  /** Records a call that arrived at `arrivedMs`; an `OK` call also records when it was admitted by the rate limiter. */
  record(code: string, arrivedMs: number, admittedMs?: number): void {
    this.calls++;
    this.byCode.set(code, (this.byCode.get(code) ?? 0) + 1);
    this.arrivals.add(arrivedMs);
    if (code === 'OK') this.okAdmissions.add(admittedMs ?? arrivedMs);
  }

  snapshot(): EmulatorStats {
    return {
      calls: this.calls,
      byCode: Object.fromEntries(this.byCode),
      peakPerSecond: this.arrivals.peak,
      peakOkPerSecond: this.okAdmissions.peak,
      billed: this.byCode.get('OK') ?? 0,
      received: this.received,
    };
  }

  reset(): void {
    this.calls = 0;
    this.received = 0;
    this.byCode.clear();
    this.arrivals.reset();
    this.okAdmissions.reset();
  }
}
