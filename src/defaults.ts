/**
 * Every default of the program, written once. The configuration (environment variables), the
 * command line's options and the library's options all start from these.
 */
export const DEFAULTS = {
  /** The international site's endpoint, where `RecognizeMacaoIDCardOCR` is offered. */
  ocrEndpoint: 'https://ocr.intl.tencentcloudapi.com',
  /**
   * Requests per second for all workers together. None is published for this action; 5/s is the
   * lowest the provider documents for its sibling international card actions.
   */
  qps: 5,
  /**
   * Milliseconds added to the provider's 1-second span when calls are spaced: 3% of the rate. In
   * bench/worker (two work processes, the emulator, Redis, PostgreSQL and the object store on 2
   * cores, Q = 50) 30 ms let 0-8 of ~2,230 calls be refused (0-0.36%) at 0.945-0.971 of the rate
   * in the steady state; 20 ms gained nothing (8 refused, 0.965); 50 ms let none, at 0.94-0.95.
   */
  rateGuardMs: 30,
  /** One OCR call, from sending to the answer. */
  ocrTimeoutMs: 30_000,
  /** On SIGTERM/SIGINT, how long cards in flight may finish before they are put back. */
  graceMs: 30_000,
  /** A card job's lock: a crashed worker's cards run again after about this long. */
  lockMs: 30_000,
  redisUrl: 'redis://127.0.0.1:6379',
  /**
   * The jobs a run keeps in Redis at once (`--window`): this many minutes of work at `OCR_QPS`,
   * and at least {@link DEFAULTS.windowMinimum}. Enough that a worker never waits for a refill
   * (refilled every second), small enough that Redis holds megabytes whatever the backlog.
   */
  windowMinutes: 15,
  windowMinimum: 1000,
  /** The card queue's name (`MACAO_OCR_QUEUE`). */
  queueName: 'cards',
  /** The embedded store's directory, relative to the working directory. */
  dataDir: '.macao-ocr',
  /** The object store's region. */
  awsRegion: 'us-east-1',
  /** Bytes of images a worker process holds at once in `base64` mode. */
  byteBudgetBytes: 256 * 1024 * 1024,
  /**
   * Seconds a presigned URL stays valid (`S3_PRESIGN_TTL_S`). The provider downloads within 3 s
   * of the call; the rest is room for the wait for the shared rate after signing and for clock
   * skew, and no more: a URL leaked from a log or a proxy is worth little a minute later.
   */
  presignTtlSec: 60,
  /** Pixels (width × height) a scan may have to be decoded (`MACAO_OCR_MAX_PIXELS`). */
  maxPixels: 50_000_000,
} as const;

/** The default window (`--window`) at `qps` requests per second: 15 minutes of work, at least 1,000 jobs. */
export function defaultWindow(qps: number): number {
  return Math.max(DEFAULTS.windowMinimum, Math.round(qps * DEFAULTS.windowMinutes * 60));
}
