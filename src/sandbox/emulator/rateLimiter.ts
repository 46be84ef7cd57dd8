/**
 * Per-key request rate over a sliding 1-second window: a call at time `t` is admitted when fewer
 * than `qps` calls of the same key were admitted in `(t - 1000, t]`. Refused calls do not count,
 * as with the real service, where a throttled call is not charged against the window. Sliding
 * rather than fixed, so that no 1-second span anywhere holds more than `qps` admissions; the
 * emulator's `peakOkPerSecond` is measured over the same spans and so never exceeds `qps`.
 */
export class SlidingWindowLimiter {
  private readonly admitted = new Map<string, number[]>();

  /** Admits (and records) a call of `key` at `nowMs` (monotonic), or refuses it. `qps` 0: unlimited. */
  tryAcquire(key: string, qps: number, nowMs: number): boolean {
    if (!(qps > 0)) return true;
    let times = this.admitted.get(key);
    if (!times) {
      times = [];
      this.admitted.set(key, times);
    }
    let drop = 0;
    while (drop < times.length && (times[drop] ?? 0) <= nowMs - 1000) drop++;
    if (drop) times.splice(0, drop);
    if (times.length >= qps) return false;
    times.push(nowMs);
    return true;
  }

  /** Forgets every recorded admission. */
  reset(): void {
    this.admitted.clear();
  }
}
