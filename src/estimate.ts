import { pendingAhead } from './results/runLifecycle.js';
import type { ResultsStore } from './results/store.js';
import type { Priority } from './results/types.js';

/** What a run would take, as `enqueue --dry-run` prints it. */
export interface Estimate {
  cards: number;
  /** Calls it takes when every card is answered at the first call: one per card, both sides in it. */
  calls: number;
  /** Pending cards of unfinished runs of equal or higher priority, sent before this run's. */
  ahead: number;
  qps: number;
  /** Hours until the run's last card at `qps`, the cards ahead included. */
  hours: number;
  /** `calls` at `OCR_PRICE_PER_1000`; undefined without a price. */
  cost: number | undefined;
}

export async function estimateRun(
  store: ResultsStore,
  opts: { cards: number; priority: Priority; qps: number; pricePer1000?: number | undefined },
): Promise<Estimate> {
  const ahead = await pendingAhead(store, opts.priority);
  return {
    cards: opts.cards,
    calls: opts.cards,
    ahead,
    qps: opts.qps,
    hours: (ahead + opts.cards) / opts.qps / 3600,
    cost: opts.pricePer1000 === undefined ? undefined : (opts.cards / 1000) * opts.pricePer1000,
  };
}

export function formatEstimate(e: Estimate, priority: Priority): string {
  const n = (x: number): string => x.toLocaleString('en-US');
  return [
    `estimate: ${n(e.cards)} cards, ${n(e.calls)} calls (retries aside)`,
    `  ahead of it: ${n(e.ahead)} pending cards of runs of priority ${priority} or higher`,
    `  done in about ${e.hours < 0.1 ? `${Math.ceil(e.hours * 60)} min` : `${e.hours.toFixed(1)} h`} at OCR_QPS ${e.qps}/s, its cards and those ahead`,
    ...(e.cost === undefined
      ? []
      : [`  cost about ${e.cost.toFixed(2)} at OCR_PRICE_PER_1000 (billed calls only)`]),
  ].join('\n');
}
