import type { S3Client } from '@aws-sdk/client-s3';
import type { Job } from 'bullmq';
import type { Logger } from '../log.js';
import type { CallRecord, OcrClient } from '../ocr/client.js';
import type { CardJobData } from '../queue.js';
import type { ResultsStore } from '../results/store.js';
import type { CardResult, Outcome } from '../results/types.js';
import type { ByteBudget } from './byteBudget.js';
import type { CircuitBreaker } from './circuitBreaker.js';
import type { RateLimiter } from './rateLimiter.js';

/**
 * What became of a card each time a worker let go of it: a final outcome, or a return to the
 * queue (`throttled`: the API's rate limit; `paused`: the circuit breaker; `deferred`: shutdown).
 */
export type CardEvent = Outcome | 'throttled' | 'paused' | 'deferred';

/** Observes every card a worker lets go of (metrics); `code` is the API's or our error code. */
export type OutcomeListener = (event: CardEvent, code: string | undefined) => void;

/** Everything a card job needs; built once per worker process. */
export interface CardContext {
  s3: S3Client;
  /** Signs presigned URLs (`S3_PRESIGN_ENDPOINT`); default {@link s3}. */
  presignS3?: S3Client | undefined;
  store: ResultsStore;
  client: OcrClient;
  limiter: RateLimiter;
  budget: ByteBudget;
  breaker: CircuitBreaker;
  logger: Logger;
  imageMode: 'url' | 'base64';
  /**
   * In `url` mode: until when (epoch ms) this process sends images inline because the provider
   * could not download one of our URLs (`INLINE_FOR_MS` after its last `DownLoadError`,
   * callWithFallbacks.ts).
   * Shared by the process's cards, so a bucket the provider cannot reach costs one failed call,
   * not one per card (each takes a turn in the shared rate).
   */
  inline: { untilMs: number };
  presignTtlSec: number;
  /**
   * Most pixels (width × height) an image may have: the pre-flight rejects more
   * (`Image.TooManyPixels`) before any call, and every decode in the worker is held to it.
   */
  maxPixels: number;
  /** Where `RetImage` portraits go; unset: not asked for. */
  portraits?: { bucket: string; prefix: string } | undefined;
  /** Quick retries inside one attempt (p-retry), and their first and longest delay, ms (startCardWorker: 3, 100, 5,000). */
  quickRetries: number;
  quickMinMs: number;
  quickMaxMs: number;
  /** Pauses job intake of the whole queue for ms (BullMQ manual rate limit). */
  rateLimitQueue: (ms: number) => Promise<void>;
  /**
   * How long this worker's lock on the job has left, in ms (0: not ours any more; Infinity: no
   * lock to check). A call can wait on Redis (an outage, the rate slot) past the lock's expiry,
   * while the stalled-job check hands the card to another worker: calling then would pay twice.
   * Read before the rate slot; read again after it only when the wait may have outlived the lock,
   * so the common path puts no Redis round trip between the slot and the send (that jitter
   * bunches calls on arrival, bench/worker).
   */
  lockRemainingMs?: (jobId: string, token: string | undefined) => Promise<number>;
  /** Observes every call (metrics). */
  onCall?: (record: CallRecord) => void;
  /** Observes every finished card (metrics). */
  onOutcome?: OutcomeListener;
}

/** What a finished job returns (kept in Redis only briefly): identity and outcome, never card data. */
export interface CardJobResult {
  outcome: Outcome;
  code: string | null;
  apiCalls: number;
  /** True when the ledger said the card was recognized already, so nothing was sent. */
  alreadyRecognized?: boolean;
}

/** A card job's identity in the results store, and the BullMQ attempt it is on. */
export function cardBase(job: Job<CardJobData>, attempts: number): Omit<CardResult, 'outcome'> {
  const d = job.data;
  return {
    versionId: job.id!,
    runId: d.runId,
    bucket: d.bucket,
    frontKey: d.frontKey,
    frontEtag: d.frontEtag,
    backKey: d.backKey,
    backEtag: d.backEtag,
    attempts,
  };
}
