export { type Dashboard, type DashboardOptions, startDashboard } from './dashboardServer.js';
export {
  applyIdentityFormatters,
  formatJobData,
  formatJobName,
  formatJobResult,
  SHOWN_DATA_FIELDS,
  SHOWN_RESULT_FIELDS,
} from './formatters.js';
