import { cardQueueKeys } from '../redisKeys.js';
import { versionId } from '../results/cardVersion.js';
import type { Outcome, SeenCard } from '../results/types.js';
import type { ListedObject } from '../storage/objects.js';
import type { EnqueueCounts, EnqueueOptions } from './enqueueRun.js';
import { classifyObject } from './filter.js';
import type { Paired, Pairer } from './pairing.js';
import { fillWindow, type RunJobs, removeKeptJobs } from './window.js';

/** What one enqueue carries from page to page: its options, its running counts and its run. */
export interface EnqueueContext {
  opts: EnqueueOptions;
  counts: EnqueueCounts;
  /** Undefined in a dry run: nothing is written. */
  runId: string | undefined;
  /** How the run's jobs are made; undefined in a dry run. */
  jobs: RunJobs | undefined;
}

/** Cards decided against the ledger and the queue at once: one query and one pipeline each. */
const SETTLE_BATCH = 1000;

const LEDGER_SKIP: Record<Outcome, string> = {
  recognized: 'already-recognized',
  rejected: 'already-rejected',
  failed: 'already-failed',
  skipped: 'already-skipped',
};

/** Adds `n` to the count of objects skipped for `reason`. */
export function countSkip(counts: EnqueueCounts, reason: string, n = 1): void {
  counts.skipped[reason] = (counts.skipped[reason] ?? 0) + n;
}

/**
 * Classifies one listing page (or the heads of a manifest), feeds the images to `pairer`, settles
 * what it decided, then reports progress.
 */
export async function consumePage(ctx: EnqueueContext, pairer: Pairer, page: ListedObject[]): Promise<void> {
  const { opts, counts } = ctx;
  const decided: Paired[] = [];
  const fileSkips: SeenCard[] = [];
  for (const obj of page) {
    const c = classifyObject(obj, { since: opts.since, until: opts.until });
    if (c.kind === 'out-of-range') continue;
    counts.found++;
    if (c.kind === 'skip') {
      countSkip(counts, c.reason);
      fileSkips.push(seenOf(obj, undefined, c.reason));
    } else decided.push(...pairer.push(obj));
  }
  await settle(ctx, decided, fileSkips);
  opts.onProgress?.({ ...counts, skipped: { ...counts.skipped } });
}

/**
 * Decides paired items against the ledger and the queue, then writes and queues them,
 * {@link SETTLE_BATCH} at a time. The skipped files' rows go with the first batch; an empty
 * `items` still writes them.
 */
export async function settle(ctx: EnqueueContext, items: Paired[], fileSkips: SeenCard[]): Promise<void> {
  for (let i = 0; i < Math.max(items.length, 1); i += SETTLE_BATCH) {
    await settleBatch(ctx, items.slice(i, i + SETTLE_BATCH), i === 0 ? fileSkips : []);
  }
}

async function settleBatch(ctx: EnqueueContext, items: Paired[], fileSkips: SeenCard[]): Promise<void> {
  const { opts, counts, runId, jobs } = ctx;
  const rows: SeenCard[] = [...fileSkips];
  const cards = collectCards(counts, items, rows);
  const toQueue = await cardsToQueue(ctx, cards);
  if (opts.dryRun || !runId || !jobs) {
    for (const c of toQueue) opts.onWouldEnqueue?.(c);
    counts.enqueued += toQueue.length;
    return;
  }
  // Rows first, jobs second: a job must never finish before its pending row is written, or
  // the pending mark would land on top of the outcome. The cards beyond the run's window wait
  // in the store (window.ts).
  await opts.store.recordSeen(runId, [...rows, ...toQueue]);
  counts.enqueued += toQueue.length;
  await fillWindow(opts.store, opts.queue, jobs, { candidates: toQueue });
}

/** The card versions among `items`, counted; the pairer's skips are counted and added to `rows`. */
function collectCards(counts: EnqueueCounts, items: Paired[], rows: SeenCard[]): SeenCard[] {
  const cards: SeenCard[] = [];
  for (const it of items) {
    if (it.kind === 'skip') {
      rows.push(seenOf(it.object, undefined, it.reason));
      countSkip(counts, it.reason);
      continue;
    }
    counts.cards++;
    if (it.back) counts.paired++;
    cards.push(seenOf(it.front, it.back));
  }
  return cards;
}

/**
 * The cards neither queued nor pending elsewhere nor settled by the ledger (unless reprocessed).
 * The rest are counted as skips and written to the run's history with their reason; a card
 * pending in another run stays in that run, so no later run rewrites an earlier one's history.
 */
async function cardsToQueue(ctx: EnqueueContext, cards: SeenCard[]): Promise<SeenCard[]> {
  const { opts, counts, runId } = ctx;
  const ids = cards.map((c) => c.versionId);
  const [ledger, jobs] = await Promise.all([opts.store.ledgerOf(ids), jobsOf(opts, ids)]);
  const toQueue: SeenCard[] = [];
  const skips: { versionId: string; reason: string }[] = [];
  const lost: string[] = [];
  const skip = (versionId: string, reason: string): void => {
    countSkip(counts, reason);
    skips.push({ versionId, reason });
  };
  for (const c of cards) {
    const known = ledger.get(c.versionId);
    const outcome = known?.outcome ?? null;
    if (jobs.get(c.versionId) === 'queued') skip(c.versionId, 'already-queued');
    else if (known?.pendingIn && known.pendingIn !== runId) {
      skip(c.versionId, 'already-queued');
      // Marked queued, yet no job: lost with Redis. Its own run's keeper queues it again.
      if (known.queued) lost.push(c.versionId);
    } else if (outcome === null || outcome === 'skipped' || reprocesses(opts.reprocess, outcome))
      toQueue.push(c);
    else skip(c.versionId, LEDGER_SKIP[outcome]);
  }
  if (runId && !opts.dryRun) {
    await opts.store.requeueLost(lost);
    await opts.store.recordLedgerSkips(runId, skips);
    // A card sent again (`--reprocess failed`) goes without the failed job BullMQ keeps for it.
    await removeKeptJobs(
      opts.queue,
      toQueue.filter((c) => jobs.get(c.versionId) === 'finished'),
    );
  }
  return toQueue;
}

function reprocesses(reprocess: EnqueueOptions['reprocess'], outcome: Outcome): boolean {
  return reprocess === 'all' || reprocess === outcome;
}

/** The ledger row of a card version (front with its back, if any), or of a skipped object. */
export function seenOf(front: ListedObject, back: ListedObject | undefined, skipReason?: string): SeenCard {
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

/**
 * Which of these job ids exist in the queue: `queued` (waiting, active or delayed: the card is on
 * its way), or `finished` (a failed card's job, kept a while for the dashboard): one round trip.
 */
async function jobsOf(opts: EnqueueOptions, ids: string[]): Promise<Map<string, 'queued' | 'finished'>> {
  const out = new Map<string, 'queued' | 'finished'>();
  if (ids.length === 0) return out;
  const pipeline = opts.redis.pipeline();
  const keys = cardQueueKeys(opts.queue);
  // A job's hash exists while the job does; BullMQ sets `finishedOn` when it completes or fails.
  for (const id of ids) pipeline.hmget(keys.job(id), 'timestamp', 'finishedOn');
  const res = (await pipeline.exec()) ?? [];
  res.forEach(([err, fields], i) => {
    if (err) throw err;
    const [created, finished] = fields as [string | null, string | null];
    if (finished !== null) out.set(ids[i]!, 'finished');
    else if (created !== null) out.set(ids[i]!, 'queued');
  });
  return out;
}
