import type { S3Client } from '@aws-sdk/client-s3';
import type { JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { DEFAULTS, defaultWindow } from '../defaults.js';
import { type Logger, silentLogger } from '../log.js';
import { mapLimit } from '../mapLimit.js';
import type { CardJobData, DEFAULT_JOB_OPTIONS } from '../queue.js';
import type { ResultsStore } from '../results/store.js';
import type { Priority, SeenCard } from '../results/types.js';
import { checkBucket, headObject, type ListedObject, listObjectPages } from '../storage/objects.js';
import { StorageError } from '../storage/s3Errors.js';
import { parseS3Uri, type S3Location } from '../storage/s3Uri.js';
import { type BadLine, type ManifestEntry, ManifestError, readManifest } from './manifest.js';
import { compilePairPattern, Pairer, type PairPattern } from './pairing.js';
import { consumePage, countSkip, type EnqueueContext, settle } from './settle.js';

/** Options of {@link enqueueRun}. */
export interface EnqueueOptions {
  /** `s3://bucket/prefix` sources, listed with ListObjectsV2. */
  sources?: string[];
  /** A manifest file, alone or beside listings. */
  manifest?: string | undefined;
  /** Enqueue the good lines of a manifest that has bad ones (otherwise nothing is enqueued). */
  skipBadLines?: boolean;
  /** Only objects whose LastModified is at or after this. */
  since?: Date | undefined;
  /** Only objects whose LastModified is before this. */
  until?: Date | undefined;
  /** Re-enqueue card versions whose outcome is this (`all`: recognized ones too, paying again). */
  reprocess?: 'failed' | 'rejected' | 'all' | undefined;
  /** Decide and count, but write nothing (no run, no rows, no jobs). */
  dryRun?: boolean;
  /** Front/back pairing pattern; see `DEFAULT_PAIR_PATTERN`. */
  pairPattern?: string | undefined;
  /** Keys per listing page; default 1,000. */
  pageSize?: number;
  /** Job options over {@link DEFAULT_JOB_OPTIONS} (`--attempts` is `attempts`). */
  jobOptions?: JobsOptions;
  /** How long a card may keep failing before it is `failed` (`--max-retry-minutes`), ms. */
  maxRetryMs?: number;
  /** Use this run id; a run that exists already is carried on (a scheduled tick run again). */
  runId?: string;
  /** The run's claim on the shared quota; default `normal`. */
  priority?: Priority;
  /** Jobs of the run Redis holds at once ({@link defaultWindow}); the rest wait in the store. */
  window?: number;
  /** Where the run's end is announced (one signed POST); default nowhere. */
  notifyUrl?: string | undefined;
  s3: S3Client;
  store: ResultsStore;
  queue: Queue<CardJobData>;
  /** The queue's Redis connection, for the one-round-trip "is this job still queued" check. */
  redis: Redis;
  logger?: Logger;
  /** Called after every listing page with the counts so far (progress display). */
  onProgress?: (counts: EnqueueCounts) => void;
  /** In a dry run, called for each card that would be enqueued. */
  onWouldEnqueue?: (card: SeenCard) => void;
  signal?: AbortSignal;
}

/** What a run's enqueue did. `skipped` counts by reason. */
export interface EnqueueCounts {
  /** Objects listed (within --since/--until). */
  found: number;
  /** Card versions formed (front, with or without a back). */
  cards: number;
  /** Cards with a back image paired. */
  paired: number;
  /** Cards the run will send: in the queue now, or waiting in the store for room in its window. */
  enqueued: number;
  skipped: Record<string, number>;
}

/**
 * What {@link enqueueRun} returns: the run (none in a dry run), its counts, the manifest's bad
 * lines, and the sources that listed no object (within --since/--until): a mistyped prefix.
 */
export interface EnqueueResult {
  runId: string | undefined;
  counts: EnqueueCounts;
  badLines: BadLine[];
  emptySources: string[];
}

/**
 * The producer: lists the sources, filters and pairs, consults the ledger (one query per page),
 * records the run and its cards, and queues one job per card version. Everything that can be
 * checked before writing (URIs, buckets, credentials, the manifest) is checked first, so bad
 * input leaves nothing half-written.
 */
export async function enqueueRun(opts: EnqueueOptions): Promise<EnqueueResult> {
  const log = opts.logger ?? silentLogger;
  const pattern = compilePairPattern(opts.pairPattern);
  const locations = (opts.sources ?? []).map(parseS3Uri);
  if (locations.length === 0 && !opts.manifest)
    throw new Error('nothing to enqueue: give s3://bucket/prefix sources or --manifest FILE');
  for (const bucket of new Set(locations.map((l) => l.bucket))) await checkBucket(opts.s3, bucket);
  const { entries, badLines } = await loadManifest(opts);

  const counts: EnqueueCounts = { found: 0, cards: 0, paired: 0, enqueued: 0, skipped: {} };
  if (badLines.length > 0) countSkip(counts, 'bad-manifest-line', badLines.length);
  const runId = await openRun(opts);
  const ctx: EnqueueContext = {
    opts,
    counts,
    runId,
    jobs:
      runId === undefined
        ? undefined
        : {
            id: runId,
            priority: opts.priority ?? 'normal',
            windowSize: opts.window ?? defaultWindow(DEFAULTS.qps),
            reprocess: opts.reprocess !== undefined,
            jobOptions: opts.jobOptions,
            maxRetryMs: opts.maxRetryMs,
          },
  };
  const emptySources: string[] = [];
  try {
    for (const loc of locations) {
      const before = counts.found;
      await enqueueListing(ctx, pattern, loc);
      if (counts.found === before) {
        emptySources.push(`s3://${loc.bucket}/${loc.prefix}`);
        log.warn(
          { source: `s3://${loc.bucket}/${loc.prefix}` },
          'this source lists no object: check the prefix',
        );
      }
    }
    if (entries.length > 0) await enqueueManifestEntries(ctx, pattern, entries);
  } catch (e) {
    if (runId) {
      await opts.store.updateRunCounts(runId, counts).catch(() => undefined);
      log.error(
        { runId, err: e },
        'enqueue stopped part way; the cards recorded so far are pending, and running the same enqueue again completes it',
      );
    }
    throw e;
  }
  if (runId) {
    await opts.store.updateRunCounts(runId, counts);
    await opts.store.setRunState(runId, counts.enqueued > 0 ? 'running' : 'done');
  }
  log.info({ runId, ...counts, dryRun: opts.dryRun ?? false }, 'enqueue finished');
  return { runId, counts, badLines, emptySources };
}

/**
 * The manifest's entries, read and checked before anything is written: bad lines throw unless
 * `skipBadLines`, and every bucket it names must be reachable.
 */
async function loadManifest(
  opts: EnqueueOptions,
): Promise<{ entries: ManifestEntry[]; badLines: BadLine[] }> {
  if (!opts.manifest) return { entries: [], badLines: [] };
  const m = await readManifest(opts.manifest);
  if (m.bad.length > 0 && !opts.skipBadLines) throw new ManifestError(opts.manifest, m.bad);
  for (const bucket of new Set(m.entries.map((e) => e.bucket))) await checkBucket(opts.s3, bucket);
  return { entries: m.entries, badLines: m.bad };
}

/** The run the cards are recorded under: the caller's, a new one, or none in a dry run. */
async function openRun(opts: EnqueueOptions): Promise<string | undefined> {
  if (opts.dryRun) return undefined;
  return (
    await opts.store.createRun({
      ...(opts.runId ? { id: opts.runId } : {}),
      sources: [...(opts.sources ?? []), ...(opts.manifest ? [`manifest:${opts.manifest}`] : [])],
      options: runOptions(opts),
      priority: opts.priority ?? 'normal',
      windowSize: opts.window ?? defaultWindow(DEFAULTS.qps),
      queue: opts.queue.name,
      notifyUrl: opts.notifyUrl,
    })
  ).id;
}

/** Enqueues one `s3://bucket/prefix` source, page by page, pairing across page boundaries. */
async function enqueueListing(ctx: EnqueueContext, pattern: PairPattern, loc: S3Location): Promise<void> {
  const { opts } = ctx;
  const pairer = new Pairer(pattern, { sorted: true });
  const pages = listObjectPages(opts.s3, loc.bucket, loc.prefix, {
    pageSize: opts.pageSize ?? 1000,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  // The next page is fetched while this one is settled (ledger, rows, jobs), so the producer's
  // own work overlaps the listing's round trips (bench/producer). One page ahead at most, so
  // memory holds two pages, not the listing.
  let next = pages.next();
  for (;;) {
    const page = await next;
    if (page.done) break;
    next = pages.next();
    next.catch(() => undefined); // a listing error surfaces at the next await, not as unhandled
    await consumePage(ctx, pairer, page.value);
  }
  await settle(ctx, pairer.flush(), []);
}

/** Enqueues a manifest's entries: each object is HEADed (16 at a time); missing ones are skips. */
async function enqueueManifestEntries(
  ctx: EnqueueContext,
  pattern: PairPattern,
  entries: ManifestEntry[],
): Promise<void> {
  const { opts } = ctx;
  const pairer = new Pairer(pattern, { sorted: false });
  // Unsorted: pairing is decided at the end, so only object identities are held meanwhile.
  const page: ListedObject[] = [];
  const missing: string[] = [];
  await mapLimit(entries, 16, async (e) => {
    try {
      // Named by its manifest line: the key may carry a customer number, and this message can
      // reach a log or a cron mail.
      page.push(
        await headObject(opts.s3, e.bucket, e.key, {
          name: `the object of manifest line ${e.line} in bucket ${e.bucket}`,
        }),
      );
    } catch (err) {
      if (err instanceof StorageError && (err.code === 'NotFound' || err.code === 'NoSuchKey'))
        missing.push(e.key);
      else throw err;
    }
  });
  if (missing.length > 0) countSkip(ctx.counts, 'not-found', missing.length);
  await consumePage(ctx, pairer, page);
  await settle(ctx, pairer.flush(), []);
}

function runOptions(opts: EnqueueOptions): Record<string, unknown> {
  return {
    since: opts.since?.toISOString() ?? null,
    until: opts.until?.toISOString() ?? null,
    reprocess: opts.reprocess ?? null,
    pairPattern: opts.pairPattern ?? null,
    skipBadLines: opts.skipBadLines ?? false,
    ...(opts.jobOptions ? { jobOptions: opts.jobOptions } : {}),
    ...(opts.maxRetryMs !== undefined ? { maxRetryMs: opts.maxRetryMs } : {}),
  };
}
