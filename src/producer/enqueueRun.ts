import type { S3Client } from '@aws-sdk/client-s3';
import type { JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { type Logger, silentLogger } from '../log.js';
import { mapLimit } from '../mapLimit.js';
import {
  addCardJobs,
  type CARD_JOBS_PER_CALL,
  type CardJobData,
  type DEFAULT_JOB_OPTIONS,
} from '../queue.js';
import { cardQueueKeys } from '../redisKeys.js';
import { versionId } from '../results/cardVersion.js';
import type { ResultsStore } from '../results/store.js';
import type { Outcome, SeenCard } from '../results/types.js';
import { checkBucket, headObject, type ListedObject, listObjectPages } from '../storage/objects.js';
import { StorageError } from '../storage/s3Errors.js';
import { parseS3Uri } from '../storage/s3Uri.js';
import { classifyObject } from './filter.js';
import { type BadLine, ManifestError, readManifest } from './manifest.js';
import { compilePairPattern, type Paired, Pairer } from './pairing.js';

/** Options of {@link enqueueRun}. */
export interface EnqueueOptions {
  /** `s3://bucket/prefix` sources, listed with ListObjectsV2. */
  sources?: string[];
  /** A manifest file instead of (or beside) listings. */
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
  /** Jobs per `addBulk`; default {@link CARD_JOBS_PER_CALL}. */
  chunkSize?: number;
  /** Job options over {@link DEFAULT_JOB_OPTIONS}. */
  jobOptions?: JobsOptions;
  /** Use this run id (the `run` command creates its run first). */
  runId?: string;
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
  enqueued: number;
  skipped: Record<string, number>;
}

export interface EnqueueResult {
  runId: string | undefined;
  counts: EnqueueCounts;
  badLines: BadLine[];
}

const LEDGER_SKIP: Record<Outcome, string> = {
  recognized: 'already-recognized',
  rejected: 'already-rejected',
  failed: 'already-failed',
  skipped: 'already-skipped',
};

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

  let manifestEntries: { bucket: string; key: string }[] = [];
  let badLines: BadLine[] = [];
  if (opts.manifest) {
    const m = await readManifest(opts.manifest);
    badLines = m.bad;
    if (m.bad.length > 0 && !opts.skipBadLines) throw new ManifestError(opts.manifest, m.bad);
    manifestEntries = m.entries;
    for (const bucket of new Set(m.entries.map((e) => e.bucket))) await checkBucket(opts.s3, bucket);
  }

  const counts: EnqueueCounts = { found: 0, cards: 0, paired: 0, enqueued: 0, skipped: {} };
  const skip = (reason: string, n = 1): void => {
    counts.skipped[reason] = (counts.skipped[reason] ?? 0) + n;
  };
  if (badLines.length > 0) skip('bad-manifest-line', badLines.length);

  const runId = opts.dryRun
    ? undefined
    : (opts.runId ??
      (
        await opts.store.createRun({
          sources: [...(opts.sources ?? []), ...(opts.manifest ? [`manifest:${opts.manifest}`] : [])],
          options: runOptions(opts),
        })
      ).id);

  /** Decides paired items against the ledger and the queue, then writes and queues, 1,000 at a time. */
  const settle = async (items: Paired[], fileSkips: SeenCard[]): Promise<void> => {
    for (let i = 0; i < Math.max(items.length, 1); i += 1000) {
      await settleBatch(items.slice(i, i + 1000), i === 0 ? fileSkips : []);
    }
  };

  const settleBatch = async (items: Paired[], fileSkips: SeenCard[]): Promise<void> => {
    const cards: SeenCard[] = [];
    const rows: SeenCard[] = [...fileSkips];
    for (const it of items) {
      if (it.kind === 'skip') {
        rows.push(seenOf(it.object, undefined, it.reason));
        skip(it.reason);
        continue;
      }
      counts.cards++;
      if (it.back) counts.paired++;
      cards.push(seenOf(it.front, it.back));
    }
    const ids = cards.map((c) => c.versionId);
    const [outcomes, queued] = await Promise.all([opts.store.outcomesOf(ids), jobsExisting(opts, ids)]);
    const toQueue: SeenCard[] = [];
    for (const c of cards) {
      const outcome = outcomes.get(c.versionId) ?? null;
      if (queued.has(c.versionId)) skip('already-queued');
      else if (outcome === null || outcome === 'skipped' || reprocesses(opts.reprocess, outcome))
        toQueue.push(c);
      else skip(LEDGER_SKIP[outcome]);
    }
    if (opts.dryRun || !runId) {
      for (const c of toQueue) opts.onWouldEnqueue?.(c);
      counts.enqueued += toQueue.length;
      return;
    }
    // Rows first, jobs second: a job must never finish before its pending row is written, or
    // the pending mark would land on top of the outcome.
    await opts.store.recordSeen(runId, [...rows, ...toQueue]);
    await addCardJobs(opts.queue, runId, toQueue, {
      reprocess: opts.reprocess !== undefined,
      jobOptions: opts.jobOptions,
      perCall: opts.chunkSize,
      onAdded: (n) => {
        counts.enqueued += n;
      },
    });
  };

  const consume = async (pairer: Pairer, page: ListedObject[]): Promise<void> => {
    const decided: Paired[] = [];
    const fileSkips: SeenCard[] = [];
    for (const obj of page) {
      const c = classifyObject(obj, { since: opts.since, until: opts.until });
      if (c.kind === 'out-of-range') continue;
      counts.found++;
      if (c.kind === 'skip') {
        skip(c.reason);
        fileSkips.push(seenOf(obj, undefined, c.reason));
      } else decided.push(...pairer.push(obj));
    }
    await settle(decided, fileSkips);
    opts.onProgress?.({ ...counts, skipped: { ...counts.skipped } });
  };

  try {
    for (const loc of locations) {
      const pairer = new Pairer(pattern, { sorted: true });
      const pages = listObjectPages(opts.s3, loc.bucket, loc.prefix, {
        pageSize: opts.pageSize ?? 1000,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      // The next page is fetched while this one is settled (ledger, rows, jobs): the producer's
      // own work overlaps the listing instead of adding to it (bench/producer). One page ahead
      // at most, so memory still holds two pages, not the listing.
      let next = pages.next();
      for (;;) {
        const page = await next;
        if (page.done) break;
        next = pages.next();
        next.catch(() => undefined); // a listing error surfaces at the next await, not as unhandled
        await consume(pairer, page.value);
      }
      await settle(pairer.flush(), []);
    }
    if (manifestEntries.length > 0) {
      const pairer = new Pairer(pattern, { sorted: false });
      // Unsorted: pairing is decided at the end, so only object identities are held meanwhile.
      const page: ListedObject[] = [];
      const missing: string[] = [];
      await mapLimit(manifestEntries, 16, async (e) => {
        try {
          page.push(await headObject(opts.s3, e.bucket, e.key));
        } catch (err) {
          if (err instanceof StorageError && (err.code === 'NotFound' || err.code === 'NoSuchKey'))
            missing.push(e.key);
          else throw err;
        }
      });
      if (missing.length > 0) skip('not-found', missing.length);
      await consume(pairer, page);
      await settle(pairer.flush(), []);
    }
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
  return { runId, counts, badLines };
}

function reprocesses(reprocess: EnqueueOptions['reprocess'], outcome: Outcome): boolean {
  return reprocess === 'all' || reprocess === outcome;
}

function runOptions(opts: EnqueueOptions): Record<string, unknown> {
  return {
    since: opts.since?.toISOString() ?? null,
    until: opts.until?.toISOString() ?? null,
    reprocess: opts.reprocess ?? null,
    pairPattern: opts.pairPattern ?? null,
    skipBadLines: opts.skipBadLines ?? false,
  };
}

function seenOf(front: ListedObject, back: ListedObject | undefined, skipReason?: string): SeenCard {
  const v = {
    bucket: front.bucket,
    frontKey: front.key,
    frontEtag: front.etag,
    backKey: back?.key,
    backEtag: back?.etag,
  };
  return {
    ...v,
    versionId: versionId(v),
    sizeBytes: front.size + (back?.size ?? 0),
    lastModified: front.lastModified,
    skipReason,
  };
}

/** Which of these job ids still exist in the queue (waiting, active, delayed, failed): one round trip. */
async function jobsExisting(opts: EnqueueOptions, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const pipeline = opts.redis.pipeline();
  const keys = cardQueueKeys(opts.queue);
  for (const id of ids) pipeline.exists(keys.job(id));
  const res = (await pipeline.exec()) ?? [];
  const out = new Set<string>();
  res.forEach(([err, n], i) => {
    if (err) throw err;
    if (n === 1) out.add(ids[i]!);
  });
  return out;
}
