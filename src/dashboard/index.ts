export type { DashboardAuth } from './basicAuth.js';
export {
  type Dashboard,
  type DashboardAction,
  type DashboardOptions,
  startDashboard,
} from './dashboardServer.js';
export { SHOWN_DATA_FIELDS, SHOWN_RESULT_FIELDS, UNSHOWN_REASON } from './formatters.js';
