export { type MetricsServer, type MetricsServerOptions, serveMetrics } from './metricsServer.js';
export {
  CARD_EVENTS,
  createWorkerMetrics,
  FINISHED_OUTCOMES,
  QUEUE_STATES,
  type WorkerMetrics,
  type WorkerMetricsOptions,
} from './workerMetrics.js';
