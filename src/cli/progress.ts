import type { RunProgress } from '../runPipeline.js';

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
        out.write(`\r  [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${line(p)}\u001b[K`);
      } else if (Date.now() - lastPlain >= 10_000) {
        lastPlain = Date.now();
        out.write(`  progress: ${line(p)}\n`);
      }
    },
    done() {
      if (tty && last) out.write('\n');
      else if (last) out.write(`  progress: ${line(last)}\n`);
    },
  };
}
