import type { Command } from 'commander';
import { type Config, checkNotifyUrl, loadDotEnv, parseConfig } from '../config.js';
import { defaultWindow } from '../defaults.js';
import type { EnqueueCounts, EnqueueOptions } from '../producer/enqueueRun.js';
import { parseTimeOption } from '../producer/filter.js';
import { compilePairPattern } from '../producer/pairing.js';
import { parseS3Uri } from '../storage/s3Uri.js';
import { auditCommand, withServices } from './common.js';
import { keepHeapSmall } from './heap.js';
import { collect, intOption, priorityOption } from './options.js';
import { UsageError } from './usageError.js';

export interface EnqueueFlags {
  manifest?: string;
  since?: string;
  until?: string;
  reprocess?: string;
  dryRun?: boolean;
  pairPattern?: string;
  skipBadLines?: boolean;
  priority?: string;
  window?: string;
  notify?: string;
  attempts?: string;
  maxRetryMinutes?: string;
}

/** The retry bounds shared by `enqueue`, `run` and `retry`. */
export function addRetryBoundFlags(cmd: Command): Command {
  return cmd
    .option(
      '--attempts <N>',
      'attempts a card may take before it is failed (default 8: about 20 minutes of backoff)',
    )
    .option(
      '--max-retry-minutes <M>',
      'a card failing for longer than this since its first failure is failed at its next failure (a deadline for nightly runs)',
    );
}

/** `--attempts` and `--max-retry-minutes`, checked: BullMQ's job attempts and the card's retry deadline in ms. */
export function retryBoundsFrom(o: { attempts?: string; maxRetryMinutes?: string }): {
  attempts: number | undefined;
  maxRetryMs: number | undefined;
} {
  return {
    attempts: o.attempts === undefined ? undefined : intOption('--attempts', o.attempts, 1, 100),
    maxRetryMs:
      o.maxRetryMinutes === undefined
        ? undefined
        : intOption('--max-retry-minutes', o.maxRetryMinutes, 1, 7 * 24 * 60) * 60_000,
  };
}

/** The enqueue flags shared by `enqueue` and `run`. */
export function addEnqueueFlags(cmd: Command): Command {
  return addRetryBoundFlags(cmd)
    .option(
      '--manifest <FILE>',
      'a list of s3:// URIs (plain, .csv with a uri column, or .jsonl with a uri field)',
    )
    .option('--since <DATE>', 'only objects modified at or after this date (2026-11-01 or an ISO time)')
    .option('--until <DATE>', 'only objects modified before this date')
    .option(
      '--reprocess <failed|rejected|all>',
      'enqueue cards whose outcome is this again (all: pays again for recognized ones)',
    )
    .option(
      '--pair-pattern <REGEX>',
      'front/back pairing: must start with ^(?<stem>...) and capture (?<side>front|back)',
    )
    .option('--skip-bad-lines', 'enqueue the good lines of a manifest that has bad ones')
    .option(
      '--priority <high|normal|low>',
      "the run's claim on the account's quota: workers send a higher run's cards first (nightly high, backlog low)",
      'normal',
    )
    .option(
      '--window <N>',
      'jobs of the run Redis holds at once; the rest wait in the results store (default: 15 minutes at OCR_QPS, at least 1000)',
    )
    .option('--notify <URL>', 'POST a signed notice there when the run ends (default MACAO_OCR_NOTIFY_URL)');
}

export function enqueueOptionsFrom(
  sources: string[],
  o: EnqueueFlags,
  config: Config,
): Omit<EnqueueOptions, 's3' | 'store' | 'queue' | 'redis'> {
  const priority = priorityOption(o.priority ?? 'normal');
  const { attempts, maxRetryMs } = retryBoundsFrom(o);
  const window = o.window === undefined ? defaultWindow(config.ocr.qps) : intOption('--window', o.window, 1);
  const notifyUrl = o.notify ?? config.notify.url;
  if (o.notify !== undefined) checkNotifyUrl(o.notify, '--notify', config.allowInsecure);
  if (notifyUrl !== undefined && !config.notify.secret)
    throw new UsageError(
      '--notify needs MACAO_OCR_NOTIFY_SECRET: notices are signed with it (X-Macao-OCR-Signature); set a long random secret shared with the receiver',
    );
  if (o.reprocess !== undefined && !['failed', 'rejected', 'all'].includes(o.reprocess)) {
    throw new UsageError(`--reprocess must be failed, rejected or all, got \`${o.reprocess}\``);
  }
  if (sources.length === 0 && !o.manifest)
    throw new UsageError('give at least one s3://bucket/prefix, or --manifest FILE');
  for (const s of sources) {
    try {
      parseS3Uri(s);
    } catch (e) {
      throw new UsageError(`${(e as Error).message} (a file list goes with --manifest)`);
    }
  }
  let since: Date | undefined;
  let until: Date | undefined;
  try {
    since = parseTimeOption('--since', o.since);
    until = parseTimeOption('--until', o.until);
    if (o.pairPattern !== undefined) compilePairPattern(o.pairPattern);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return {
    sources,
    manifest: o.manifest,
    since,
    until,
    reprocess: o.reprocess as EnqueueOptions['reprocess'],
    dryRun: o.dryRun ?? false,
    pairPattern: o.pairPattern,
    skipBadLines: o.skipBadLines ?? false,
    priority,
    window,
    notifyUrl,
    ...(attempts !== undefined ? { jobOptions: { attempts } } : {}),
    ...(maxRetryMs !== undefined ? { maxRetryMs } : {}),
  };
}

export function formatCounts(c: EnqueueCounts): string {
  const skipped = Object.entries(c.skipped)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return `found ${c.found}, cards ${c.cards} (${c.paired} paired), enqueued ${c.enqueued}, skipped ${Object.values(c.skipped).reduce((a, b) => a + b, 0)}${skipped ? ` (${skipped})` : ''}`;
}

export function registerEnqueueCommand(program: Command): void {
  addEnqueueFlags(
    program
      .command('enqueue')
      .description('list card scans and queue one job per card version (skipping what is already recognized)')
      .argument('[SOURCE...]', 's3://bucket/prefix, one or more', collect, [] as string[])
      .option('--dry-run', 'show what would be enqueued; write nothing'),
  ).action(async (sources: string[], o: EnqueueFlags) => {
    loadDotEnv();
    const config = parseConfig();
    const opts = enqueueOptionsFrom(sources, o, config);
    keepHeapSmall();
    const { enqueueRun } = await import('../producer/enqueueRun.js');
    await withServices(async (s) => {
      const tty = process.stderr.isTTY;
      const r = await enqueueRun({
        ...opts,
        s3: s.s3,
        store: s.store,
        queue: s.queue,
        redis: s.redis,
        onProgress: tty ? (c) => process.stderr.write(`\r  listing: ${formatCounts(c)}\u001b[K`) : undefined,
        onWouldEnqueue: opts.dryRun
          ? (c) =>
              console.log(`would enqueue s3://${c.bucket}/${c.frontKey}${c.backKey ? ` + ${c.backKey}` : ''}`)
          : undefined,
      });
      if (tty) process.stderr.write('\n');
      // Sending cards again pays for them again: who asked for it is kept.
      if (opts.reprocess && r.runId) {
        await auditCommand(s.store, 'enqueue', { enqueued: r.counts.enqueued });
      }
      for (const b of r.badLines) console.error(`manifest line ${b.line} skipped: ${b.problem}`);
      for (const source of r.emptySources)
        console.error(
          `warning: ${source} lists no object${opts.since || opts.until ? ' in the --since/--until range' : ''}: check the bucket and prefix`,
        );
      console.log(`${r.runId ? `run ${r.runId}` : 'dry run (nothing written)'}: ${formatCounts(r.counts)}`);
      if (opts.dryRun) {
        const { estimateRun, formatEstimate } = await import('../estimate.js');
        const priority = opts.priority ?? 'normal';
        const e = await estimateRun(s.store, {
          cards: r.counts.enqueued,
          priority,
          qps: config.ocr.qps,
          pricePer1000: config.ocr.pricePer1000,
        });
        console.log(formatEstimate(e, priority));
      }
    });
  });
}
