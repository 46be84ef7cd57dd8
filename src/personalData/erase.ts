import type { S3Client } from '@aws-sdk/client-s3';
import type { Queue } from 'bullmq';
import type { CardJobData } from '../queue.js';
import { cardsOf, type ErasureTarget } from '../results/personalData.js';
import type { ResultsStore } from '../results/store.js';
import { countForgetting, emptyCounts, forgetCards, type PersonalDataCounts } from './purge.js';

/** Options of {@link eraseCards}. */
export interface EraseOptions {
  store: ResultsStore;
  s3: S3Client;
  /** The card queue: a job of an erased card (a failed one kept for the dashboard) is removed. */
  queue: Queue<CardJobData>;
  target: ErasureTarget;
  dryRun?: boolean;
  deleteScans?: boolean;
}

/** What an erasure did: {@link PersonalDataCounts} and the queue's jobs removed. */
export interface EraseCounts extends PersonalDataCounts {
  /** Card versions found for the target, purged already or not. */
  found: number;
  jobs: number;
}

/**
 * Erases one person's data everywhere: every version of their cards across runs (by ID number,
 * version or object), its fields, raw answer, portrait (and scans when asked), and any job of
 * theirs still in Redis. Each row stays as a tombstone: the scan is not recognized and billed
 * again unless a reprocess is asked for explicitly.
 */
export async function eraseCards(opts: EraseOptions): Promise<EraseCounts> {
  const cards = await cardsOf(opts.store.pool, opts.target);
  const counts: EraseCounts = { ...emptyCounts(), found: cards.length, jobs: 0 };
  if (opts.dryRun) {
    countForgetting(cards, opts.deleteScans ?? false, counts);
    return counts;
  }
  // BullMQ answers 1 to removing a job that does not exist: count only the jobs that do.
  for (const c of cards)
    if (await opts.queue.getJob(c.versionId)) counts.jobs += await opts.queue.remove(c.versionId);
  await forgetCards(
    opts.store,
    opts.s3,
    cards,
    { deleteScans: opts.deleteScans ?? false, reason: 'erasure' },
    counts,
  );
  return counts;
}
