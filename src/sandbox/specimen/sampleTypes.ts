import type { SpecimenTruth } from '../emulator/groundTruth.js';

/** What one object of a sample dataset is: a good card image, or one of the faults. */
export type SampleKind = 'card' | 'gif' | 'truncated' | 'empty' | 'oversize' | 'not-a-card' | 'text-as-jpg';

/** The fault kinds, in the order a dataset with faults includes them. */
export type FaultKind = Exclude<SampleKind, 'card'>;

export const FAULT_KINDS: readonly FaultKind[] = [
  'gif',
  'truncated',
  'empty',
  'oversize',
  'not-a-card',
  'text-as-jpg',
];

/** One object of a sample dataset, ready for a sink to store under `key`. */
export interface SampleObject {
  /** Object key / file name, e.g. `card-000017_front.jpg`, `fault-gif-0001.gif`. */
  key: string;
  body: Buffer;
  /** The content type a sink should store; for `text-as-jpg` the lie its name tells (`image/jpeg`). */
  contentType: string;
  kind: SampleKind;
  /** The specimen drawn in it, when there is one (cards and card-derived faults). */
  specimenId?: string;
  side?: 'front' | 'back';
  /** The truth embedded in `body`, when the image decodes and carries one (cards, oversize). */
  truth?: SpecimenTruth;
}

/** Receives each object of a dataset in turn; a file-system and an S3 sink share this signature. */
export type SampleSink = (obj: SampleObject) => Promise<void>;

/** What {@link SampleSink}s were given, by kind, for a report. */
export interface SamplesSummary {
  /** Good cards rendered (a card with a back counts once here). */
  cards: number;
  /** Of those, cards that got a back image. */
  cardsWithBack: number;
  /** Objects written per kind (a card with a back counts twice under `card`). */
  counts: Record<SampleKind, number>;
  /** Total bytes written. */
  bytes: number;
  /** Every object written, in order. */
  objects: { key: string; kind: SampleKind; specimenId?: string }[];
  /** Wall time, milliseconds. */
  elapsedMs: number;
}
