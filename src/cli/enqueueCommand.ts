import type { Command } from 'commander';
import type { EnqueueCounts, EnqueueOptions } from '../producer/enqueueRun.js';
import { parseTimeOption } from '../producer/filter.js';
import { parseS3Uri } from '../storage/s3Uri.js';
import { auditCommand, withServices } from './common.js';
import { keepHeapSmall } from './heap.js';
import { collect } from './options.js';
import { UsageError } from './usageError.js';

export interface EnqueueFlags {
  manifest?: string;
  since?: string;
  until?: string;
  reprocess?: string;
  dryRun?: boolean;
  pairPattern?: string;
  skipBadLines?: boolean;
}

/** The enqueue flags shared by `enqueue` and `run`. */
export function addEnqueueFlags(cmd: Command): Command {
  return cmd
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
    .option('--skip-bad-lines', 'enqueue the good lines of a manifest that has bad ones');
}

export function enqueueOptionsFrom(
  sources: string[],
  o: EnqueueFlags,
): Omit<EnqueueOptions, 's3' | 'store' | 'queue' | 'redis'> {
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
    const opts = enqueueOptionsFrom(sources, o);
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
      console.log(`${r.runId ? `run ${r.runId}` : 'dry run (nothing written)'}: ${formatCounts(r.counts)}`);
    });
  });
}
