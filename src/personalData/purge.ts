import type { S3Client } from '@aws-sdk/client-s3';
import { type CardLocation, cardsToPurge, tombstone } from '../results/personalData.js';
import type { ResultsStore } from '../results/store.js';
import { deleteObjects, type ObjectRef, objectOf } from './deleteObjects.js';

/** Options of {@link purgeCards}. */
export interface PurgeOptions {
  store: ResultsStore;
  /** The object store of the portraits (and of the scans, with `deleteScans`). */
  s3: S3Client;
  /** Cards finished more than this many days ago; 0: every finished card. */
  olderThanDays: number;
  /** Only this run's cards. */
  runId?: string | undefined;
  /** Count what would be purged; change nothing. */
  dryRun?: boolean;
  /** Delete the source scans too (front and back objects). */
  deleteScans?: boolean;
  /** Cards a page; default 1,000. */
  pageSize?: number;
  /** After every page, the counts so far. */
  onProgress?: (counts: PersonalDataCounts) => void;
  /** "Now", for tests; default the current time. */
  now?: Date;
}

/** What a purge or an erasure did, in counts: never a value. */
export interface PersonalDataCounts {
  /** Cards made tombstones (or that would be, in a dry run). */
  cards: number;
  portraits: number;
  scans: number;
  /** Cards left as they were because the object store refused to delete one of their objects. */
  kept: number;
}

export function emptyCounts(): PersonalDataCounts {
  return { cards: 0, portraits: 0, scans: 0, kept: 0 };
}

/** A card's objects to delete: its portrait, if it has one, and its scans when asked. */
interface CardObjects {
  card: CardLocation;
  portrait: ObjectRef | undefined;
  scans: ObjectRef[];
  /** The portrait and the scans together. */
  all: ObjectRef[];
}

function objectsOf(card: CardLocation, deleteScans: boolean): CardObjects {
  const portrait = objectOf(card.portraitKey);
  const scans = deleteScans
    ? [
        { bucket: card.bucket, key: card.frontKey },
        ...(card.backKey ? [{ bucket: card.bucket, key: card.backKey }] : []),
      ]
    : [];
  return { card, portrait, scans, all: [...(portrait ? [portrait] : []), ...scans] };
}

/** Adds forgotten cards' objects to `counts`. */
function countObjects(forgotten: readonly CardObjects[], counts: PersonalDataCounts): void {
  counts.portraits += forgotten.filter((c) => c.portrait).length;
  counts.scans += forgotten.reduce((n, c) => n + c.scans.length, 0);
}

/** What {@link forgetCards} would do to `cards`, counted; nothing changes (a dry run). */
export function countForgetting(
  cards: readonly CardLocation[],
  deleteScans: boolean,
  counts: PersonalDataCounts,
): void {
  counts.cards += cards.length;
  countObjects(
    cards.map((c) => objectsOf(c, deleteScans)),
    counts,
  );
}

/**
 * Deletes the objects of some cards (portraits; scans when asked), then turns into tombstones
 * those whose objects are all gone. A card whose object the store refused keeps its row as it
 * was: its portrait key must not be lost while the portrait still exists. Shared by purge and
 * erasure.
 */
export async function forgetCards(
  store: ResultsStore,
  s3: S3Client,
  cards: readonly CardLocation[],
  opts: { deleteScans: boolean; reason: 'retention' | 'erasure' },
  counts: PersonalDataCounts,
): Promise<void> {
  const withObjects = cards.map((c) => objectsOf(c, opts.deleteScans));
  const refused = await deleteObjects(
    s3,
    withObjects.flatMap((c) => c.all),
  );
  const done = withObjects.filter((c) => !c.all.some((o) => refused.has(`${o.bucket}/${o.key}`)));
  counts.kept += withObjects.length - done.length;
  countObjects(done, counts);
  counts.cards += await tombstone(
    store.pool,
    done.map((a) => a.card.versionId),
    opts.reason,
  );
}

/**
 * Retention: the personal data of every card version finished more than `olderThanDays` ago
 * (optionally of one run) is deleted, page by page: its fields, what is left of the raw answer,
 * the check messages, its portrait object and, with `deleteScans`, its scans. Each row stays as
 * a tombstone, so the scan is not paid for again and reports still count the card.
 */
export async function purgeCards(opts: PurgeOptions): Promise<PersonalDataCounts> {
  const before = new Date((opts.now ?? new Date()).getTime() - opts.olderThanDays * 86_400_000);
  const counts = emptyCounts();
  let after = '';
  for (;;) {
    const page = await cardsToPurge(opts.store.pool, {
      before,
      runId: opts.runId,
      after,
      limit: opts.pageSize ?? 1000,
    });
    if (page.length === 0) break;
    after = page[page.length - 1]!.versionId;
    if (opts.dryRun) countForgetting(page, opts.deleteScans ?? false, counts);
    else {
      await forgetCards(
        opts.store,
        opts.s3,
        page,
        { deleteScans: opts.deleteScans ?? false, reason: 'retention' },
        counts,
      );
    }
    opts.onProgress?.({ ...counts });
  }
  return counts;
}

/**
 * `MACAO_OCR_RETAIN_DAYS`: after a run (the `run` command, a scheduled tick), the personal data
 * of cards finished more than `days` ago goes; audited when it did anything.
 */
export async function applyRetention(
  services: { store: ResultsStore; s3: S3Client },
  days: number,
): Promise<PersonalDataCounts> {
  const counts = await purgeCards({ store: services.store, s3: services.s3, olderThanDays: days });
  if (counts.cards > 0 || counts.kept > 0)
    await services.store.audit({
      command: 'purge',
      args: ['--older-than', `${days}d`, '(MACAO_OCR_RETAIN_DAYS)'],
      counts: { ...counts },
    });
  return counts;
}
