/**
 * macao-id-ocr-batch as a library: what an embedder needs to queue card scans, run workers and
 * read the outcomes from their own TypeScript, without the command line. The command line is a
 * thin layer over these same functions (`src/cli/`).
 *
 * ```ts
 * import { enqueueRun, startCardWorker, ResultsStore, createOcrClient } from 'macao-id-ocr-batch';
 * ```
 *
 * The sandbox (the API emulator, specimen cards, the demo) is not part of this surface: it is for
 * trying and testing the tool, and a production install leaves it out.
 */

// The card domain.
export { type CheckOptions, checkCard } from './card/checks.js';
export {
  CARD_FIELD_NAMES,
  type CardWarning,
  type CheckFinding,
  type MacaoCardFields,
  WARNING_NAMES,
} from './card/fields.js';
// Configuration, as the command line reads it from the environment.
export { type Config, ConfigError, loadDotEnv, parseConfig, requireCredentials } from './config.js';
export { DEFAULTS } from './defaults.js';
export { createLogger, type Logger } from './log.js';
// The run-finished notice: its body, and its signature as a receiver checks it.
export { type NoticeBody, SIGNATURE_HEADER, signNotice } from './notice.js';
export {
  type CallRecord,
  createOcrClient,
  type OcrClient,
  type OcrClientOptions,
} from './ocr/client.js';
// The Tencent Cloud client and its error table.
export {
  actionFor,
  ERROR_ACTIONS,
  type ErrorAction,
  type ErrorRule,
  ruleFor,
} from './ocr/errorActions.js';
export { API_LIMITS } from './ocr/limits.js';
export { isOcrError, OcrError } from './ocr/OcrError.js';
export type { RecognizeMacaoIDCardOCRResponse, RecognizeRequest } from './ocr/types.js';
export {
  type EnqueueCounts,
  type EnqueueOptions,
  type EnqueueResult,
  enqueueRun,
} from './producer/enqueueRun.js';
export { retryFailed } from './producer/retryFailed.js';
// The queue and the producer.
export { type CardJobData, createRedis, DEFAULT_QUEUE_PREFIX, JOB_PRIORITY } from './queue.js';
// The results store.
export { type CardVersion, versionId } from './results/cardVersion.js';
export { listRuns, type RunJson, runJson } from './results/runLifecycle.js';
export { ResultsStore } from './results/store.js';
export type { CardResult, Outcome, Priority, RunRow, RunSummary } from './results/types.js';
// Everything at once: enqueue, work in this process until drained, report.
export {
  type RunPipelineOptions,
  type RunPipelineResult,
  type RunProgress,
  runPipeline,
} from './runPipeline.js';
// Schedules: runs made by the workers on a cron expression.
export {
  addSchedule,
  listSchedules,
  openSchedulesQueue,
  removeSchedule,
  type ScheduledEnqueue,
  type ScheduleInfo,
  startScheduleWorker,
} from './schedules.js';
export {
  openOcrClient,
  openQueueServices,
  openServices,
  type QueueServices,
  type Services,
} from './services.js';
export { type PauseReason, pauseReason, resumeQueue } from './worker/circuitBreaker.js';
// The workers.
export { type CardWorker, type CardWorkerOptions, startCardWorker } from './worker/startWorker.js';
