import type { Command } from 'commander';
import type { Services } from '../services.js';
import { pauseReason } from '../worker/circuitBreaker.js';
import { RateLimiter } from '../worker/rateLimiter.js';
import { resolveRun, withServices } from './common.js';

/** The `status --json` contract of DESIGN.md (extend, don't rename). */
export interface StatusJson {
  run: string;
  state: string;
  counts: {
    waiting: number;
    active: number;
    delayed: number;
    recognized: number;
    rejected: number;
    failed: number;
    skipped: number;
  };
  pending: number;
  effectiveQps: number;
  paused: boolean;
  pausedReason: string | null;
  cardsPerSecond: number | null;
  etaSeconds: number | null;
}

export async function loadStatus(s: Services, runId: string): Promise<StatusJson> {
  const [summary, jobs, reason, paused] = await Promise.all([
    s.store.runSummary(runId),
    s.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized'),
    pauseReason(s.queue, s.redis),
    s.queue.isPaused(),
  ]);
  if (!summary) throw new Error(`run ${runId} vanished`);
  const limiter = new RateLimiter(s.redis, {
    key: s.queue.toKey('ocr-rate'),
    maxQps: s.config.ocr.qps,
    guardMs: s.config.ocr.rateGuardMs,
  });
  const finished = summary.counts.recognized + summary.counts.rejected + summary.counts.failed;
  const seconds = ((summary.finishedAt ?? new Date()).getTime() - summary.startedAt.getTime()) / 1000;
  const rate = finished > 0 && seconds > 0 ? finished / seconds : null;
  return {
    run: runId,
    state: summary.state,
    counts: {
      waiting: (jobs.waiting ?? 0) + (jobs.prioritized ?? 0),
      active: jobs.active ?? 0,
      delayed: jobs.delayed ?? 0,
      recognized: summary.counts.recognized,
      rejected: summary.counts.rejected,
      failed: summary.counts.failed,
      skipped: summary.counts.skipped,
    },
    pending: summary.counts.pending,
    effectiveQps: Math.round((await limiter.effectiveQps()) * 100) / 100,
    paused,
    pausedReason: reason ? `${reason.code}: ${reason.hint}` : (summary.pausedReason ?? null),
    cardsPerSecond: rate === null ? null : Math.round(rate * 100) / 100,
    etaSeconds:
      rate && summary.counts.pending > 0
        ? Math.ceil(summary.counts.pending / rate)
        : summary.counts.pending === 0
          ? 0
          : null,
  };
}

export function formatStatus(st: StatusJson): string {
  const c = st.counts;
  return [
    `run ${st.run}  ${st.state}${st.paused ? `  PAUSED${st.pausedReason ? `: ${st.pausedReason}` : ''}` : ''}`,
    `  queue      waiting ${c.waiting}  active ${c.active}  delayed ${c.delayed}`,
    `  outcomes   recognized ${c.recognized}  rejected ${c.rejected}  failed ${c.failed}  skipped ${c.skipped}  pending ${st.pending}`,
    `  rate       ${st.effectiveQps} req/s allowed now; ${st.cardsPerSecond ?? '-'} cards/s finished; ETA ${st.etaSeconds === null ? '-' : `${st.etaSeconds} s`}`,
  ].join('\n');
}

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('where a run stands: queue states, outcomes, effective rate, ETA, pause reason')
    .argument('[RUN]', 'run id (default: the newest run)')
    .option('--json', 'machine-readable output (stable shape)')
    .option('--watch', 'redraw every 2 s until interrupted')
    .action(async (run: string | undefined, o: { json?: boolean; watch?: boolean }) => {
      await withServices(async (s) => {
        const runId = await resolveRun(s.store, run);
        for (;;) {
          const st = await loadStatus(s, runId);
          if (o.json) console.log(JSON.stringify(st));
          else if (o.watch && process.stdout.isTTY)
            process.stdout.write(`\u001b[2J\u001b[H${formatStatus(st)}\n`);
          else console.log(formatStatus(st));
          if (!o.watch) return;
          await new Promise((r) => setTimeout(r, 2000));
        }
      });
    });
}
