export { AUTH_REALM, type DashboardAuth } from './basicAuth.js';
export { CardQueueAdapter } from './cardQueueAdapter.js';
export {
  type Dashboard,
  type DashboardAction,
  type DashboardOptions,
  startDashboard,
} from './dashboardServer.js';
export {
  applyIdentityFormatters,
  formatFailedReason,
  formatJobData,
  formatJobName,
  formatJobResult,
  formatStacktrace,
  SHOWN_DATA_FIELDS,
  SHOWN_RESULT_FIELDS,
  UNSHOWN_REASON,
} from './formatters.js';
export { allowedHostError, isLoopbackHost } from './hostGuard.js';
