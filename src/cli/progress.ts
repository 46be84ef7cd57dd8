import type { RunProgress } from '../runPipeline.js';
import { statusLine } from '../statusLine.js';

/**
 * Progress of a run: a bar redrawn in place on a terminal, a plain line every 10 s otherwise
 * (cron logs). Counts only: no card data.
 */
export function progressPrinter(out: NodeJS.WriteStream): {
  update: (p: RunProgress) => void;
  done: () => void;
} {
  const tty = out.isTTY === true;
  let last: RunProgress | undefined;
  let lastPlain = 0;
  const line = (p: RunProgress): string => {
    const c = p.counts;
    const finished = c.recognized + c.rejected + c.failed;
    const eta = p.etaSeconds === undefined ? '--' : `${Math.ceil(p.etaSeconds)} s`;
    return `${finished}/${p.total} cards  ${p.cardsPerSecond.toFixed(1)}/s  ETA ${eta}  recognized ${c.recognized}  rejected ${c.rejected}  failed ${c.failed}  rate ${p.effectiveQps.toFixed(1)} req/s`;
  };
  return {
    update(p) {
      last = p;
      if (tty) {
        const finished = p.counts.recognized + p.counts.rejected + p.counts.failed;
        const width = 24;
        const filled = p.total > 0 ? Math.round((finished / p.total) * width) : 0;
        statusLine.draw(out, `  [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${line(p)}`);
      } else if (Date.now() - lastPlain >= 10_000) {
        lastPlain = Date.now();
        out.write(`  progress: ${line(p)}\n`);
      }
    },
    done() {
      if (tty) statusLine.end();
      else if (last) out.write(`  progress: ${line(last)}\n`);
    },
  };
}

/**
 * `work`'s line on a terminal: the cards this process finished so far by outcome, those in flight
 * and the shared rate, redrawn every second. Nothing when standard output is no terminal (the
 * JSON log lines say it all there).
 */
export function workerStatusLine(
  out: NodeJS.WriteStream,
  worker: { inFlight: number; limiter: { effectiveQps(): Promise<number> } },
): { onOutcome: (event: string) => void; stop: () => void } {
  const done: Record<string, number> = { recognized: 0, rejected: 0, failed: 0 };
  if (out.isTTY !== true) return { onOutcome: () => undefined, stop: () => undefined };
  const draw = async (): Promise<void> => {
    const qps = await worker.limiter.effectiveQps().catch(() => undefined);
    const total = done.recognized! + done.rejected! + done.failed!;
    statusLine.draw(
      out,
      `  worker: ${total} cards finished (recognized ${done.recognized}, rejected ${done.rejected}, failed ${done.failed}), ${worker.inFlight} in flight${qps === undefined ? '' : `, ${qps.toFixed(1)} req/s allowed`}`,
    );
  };
  const timer = setInterval(() => void draw(), 1000);
  timer.unref();
  return {
    onOutcome(event) {
      if (event in done) done[event]! += 1;
    },
    stop() {
      clearInterval(timer);
      statusLine.end();
    },
  };
}
