import type { CardWarning, CheckFinding, MacaoCardFields } from '../card/fields.js';
import type { CardVersion } from './cardVersion.js';

export type Outcome = 'recognized' | 'rejected' | 'failed' | 'skipped';
export const OUTCOMES: readonly Outcome[] = ['recognized', 'rejected', 'failed', 'skipped'];

/** Why the producer did not send an object. */
export type SkipReason =
  | 'unsupported-format'
  | 'empty'
  | 'back-without-front'
  | 'already-recognized'
  | (string & {});

/** A card version the producer saw, with what it did with it. */
export interface SeenCard extends CardVersion {
  versionId: string;
  sizeBytes?: number | undefined;
  lastModified?: Date | undefined;
  /** Set when the object is not sent: the row is `skipped` with this reason. */
  skipReason?: SkipReason | undefined;
}

/** What a worker learned about one card version. */
export interface CardResult extends CardVersion {
  versionId: string;
  runId: string;
  outcome: Exclude<Outcome, 'skipped'>;
  /** The API's fields; only for `recognized`. */
  fields?: Partial<MacaoCardFields> | undefined;
  warnings?: CardWarning[];
  checks?: CheckFinding[];
  errorCode?: string | undefined;
  errorMessage?: string | undefined;
  /** BullMQ attempts used. */
  attempts: number;
  /** Latency of the successful (or last) call, in ms. */
  latencyMs?: number | undefined;
  requestId?: string | undefined;
  /** Object key where the portrait was written (never the image itself). */
  portraitKey?: string | undefined;
  /** The API's response; `RetImage` is removed before storing. */
  rawResponse?: Record<string, unknown> | undefined;
}

/** One HTTP exchange with the OCR API (append-only ledger). */
export interface ApiCallRow {
  versionId: string;
  runId?: string | undefined;
  requestId?: string | undefined;
  code: string;
  latencyMs: number;
  billed: boolean;
  calledAt: Date;
}

/** A run's claim on the shared quota: a higher run's cards are sent before a lower one's. */
export type Priority = 'high' | 'normal' | 'low';
export const PRIORITIES: readonly Priority[] = ['high', 'normal', 'low'];

export interface RunRow {
  id: string;
  sources: string[];
  options: Record<string, unknown>;
  state: 'enqueueing' | 'running' | 'paused' | 'done';
  pausedReason: string | null;
  found: number;
  paired: number;
  enqueued: number;
  skipped: Record<string, number>;
  startedAt: Date;
  finishedAt: Date | null;
  /** What the API said of the account during the run (`WarnCardInfos` codes such as -9109), each once. */
  accountConditions: number[];
  priority: Priority;
  /** How many of the run's jobs Redis holds at once; null: all (a run recorded before windows). */
  windowSize: number | null;
  /** Where the run's end is announced; null: nowhere. */
  notifyUrl: string | null;
  /** When the notice was delivered. */
  notifiedAt: Date | null;
}

/** A run at a glance: what the producer did, where each card stands, what it cost. */
export interface RunSummary extends RunRow {
  /** Cards by outcome; `pending` = queued and not finished yet. */
  counts: Record<Outcome | 'pending', number>;
  apiCalls: number;
  billedCalls: number;
}
