// The arithmetic and the table of the quota benchmark (bench/worker-quota.ts): how close a run's
// calls came to the provider's limit Q, in the steady state and over the whole run, and what the
// `work` processes logged beside their per-card lines.
import { appendFileSync } from 'node:fs';
import { ruleFor } from '../../src/ocr/errorActions.js';
import { fmt, printTable } from '../lib.js';

export const pct = (x: number, digits = 2): string => `${(x * 100).toFixed(digits)}%`;

/** One API call. */
export interface Call {
  /** Epoch ms when sent. */
  t: number;
  code: string;
}

/** Whether a call's answer was a refusal for going over the limit. */
export const throttledCode = (code: string): boolean => ruleFor(code).action === 'throttle';

/** Most calls sent within any 1-second span (the sender's clock), as the emulator counts arrivals. */
export function peakSends(calls: Call[]): number {
  const t = calls.map((c) => c.t).sort((a, b) => a - b);
  let peak = 0;
  for (let lo = 0, hi = 0; hi < t.length; hi++) {
    while ((t[lo] ?? 0) <= (t[hi] ?? 0) - 1000) lo++;
    peak = Math.max(peak, hi - lo + 1);
  }
  return peak;
}

/** Appends every call ({run, ms since t0, code}) as a JSON line to `file`, for a closer look. */
export function dumpCalls(file: string | undefined, run: string, t0: number, calls: Call[]): void {
  if (!file) return;
  const lines = calls.map((c) => JSON.stringify({ run, ms: Math.round(c.t - t0), code: c.code }));
  appendFileSync(file, `${lines.join('\n')}\n`);
}

export interface Rates {
  /** Successful calls per second ÷ Q. */
  okSteady: number;
  okWhole: number;
  /** Calls the provider admitted (every call but the throttled ones: a faulted call spends its slot) per second ÷ Q. */
  admittedSteady: number;
  admittedWhole: number;
  /** Admitted calls in the median whole second of the steady state ÷ Q: the plateau, without the dips. */
  admittedMedianSecond: number;
  steadyS: number;
}

/**
 * Steady state: between the 10th and the 90th percentile of the successful calls' send times, so
 * the ramp-up (first calls, queue filling) and the tail (the last cards, their retries) are out.
 * Whole run: over the wall time from the start of enqueueing (or of the loop) to the last outcome.
 */
export function rates(calls: Call[], wallMs: number, q: number): Rates {
  const ok = calls
    .filter((c) => c.code === 'OK')
    .map((c) => c.t)
    .sort((a, b) => a - b);
  const from = ok[Math.floor(ok.length * 0.1)] ?? 0;
  const to = ok[Math.floor(ok.length * 0.9)] ?? 0;
  const spanS = Math.max(1e-3, (to - from) / 1000);
  const inSpan = (c: Call) => c.t >= from && c.t < to;
  const admitted = calls.filter((c) => !throttledCode(c.code));
  const perSecond = Array.from({ length: Math.max(1, Math.floor(spanS)) }, () => 0);
  for (const c of admitted) {
    const k = Math.floor((c.t - from) / 1000);
    if (c.t >= from && k < perSecond.length) perSecond[k]!++;
  }
  perSecond.sort((a, b) => a - b);
  return {
    admittedMedianSecond: (perSecond[Math.floor(perSecond.length / 2)] ?? 0) / q,
    okSteady: calls.filter((c) => c.code === 'OK' && inSpan(c)).length / spanS / q,
    okWhole: ok.length / (wallMs / 1000) / q,
    admittedSteady: admitted.filter(inSpan).length / spanS / q,
    admittedWhole: admitted.length / (wallMs / 1000) / q,
    steadyS: spanS,
  };
}

/** Prints what the work processes said beside their per-card lines: warnings by message, stderr. */
export function summariseLogs(outputs: string[]): void {
  const byMsg = new Map<string, number>();
  const other: string[] = [];
  for (const line of outputs.join('\n').split('\n')) {
    if (!line.trim()) continue;
    let entry: { level?: number; msg?: string } | undefined;
    try {
      entry = JSON.parse(line) as { level?: number; msg?: string };
    } catch {
      other.push(line);
      continue;
    }
    if ((entry.level ?? 0) >= 40) byMsg.set(entry.msg ?? '', (byMsg.get(entry.msg ?? '') ?? 0) + 1);
  }
  for (const [msg, n] of byMsg) console.log(`  work logs: ${n} × "${msg.slice(0, 100)}"`);
  for (const line of other.slice(0, 12)) console.log(`  work stderr: ${line.slice(0, 200)}`);
}

/** One run of the quota benchmark: the workers, or the naive loop. */
export interface QuotaRow {
  run: string;
  done: number;
  wallMs: number;
  calls: number;
  throttled: number;
  faults: number;
  peakPerSecond: number;
  peakSends: number;
  rates: Rates;
  note?: string;
}

/** The quota table of `n` cards at limit `q`, the naive loop first, with its notes. */
export function printQuotaTable(baseline: QuotaRow, worker: QuotaRow, n: number, q: number): void {
  const idealS = n / q;
  const rows: (string | number)[][] = [
    [
      'run',
      'cards done',
      'wall s',
      `wall ÷ N/Q (${idealS} s)`,
      'OK/s ÷ Q steady',
      'OK/s ÷ Q whole',
      'admitted/s ÷ Q steady',
      'admitted/s ÷ Q whole',
      'admitted ÷ Q, median second',
      'calls',
      'OcrFailed',
      'throttled',
      'throttled share',
      'peak sends in 1 s',
      'peak arrivals in 1 s',
    ],
  ];
  for (const r of [baseline, worker]) {
    rows.push([
      r.run,
      `${fmt(r.done)} / ${fmt(n)}`,
      fmt(r.wallMs / 1000, 1),
      fmt(r.wallMs / 1000 / idealS, 2),
      fmt(r.rates.okSteady, 3),
      fmt(r.rates.okWhole, 3),
      fmt(r.rates.admittedSteady, 3),
      fmt(r.rates.admittedWhole, 3),
      fmt(r.rates.admittedMedianSecond, 2),
      fmt(r.calls),
      fmt(r.faults),
      fmt(r.throttled),
      pct(r.throttled / Math.max(1, r.calls)),
      r.peakSends,
      r.peakPerSecond,
    ]);
  }
  console.log();
  printTable(rows);
  for (const r of [worker, baseline]) if (r.note) console.log(`  note (${r.run}): ${r.note}`);
  console.log(
    `  steady state = 10th to 90th percentile of successful send times (${fmt(worker.rates.steadyS, 1)} s for the workers); admitted = every call but the throttled ones (a faulted call spends its slot at the emulator, as at the provider)`,
  );
}
