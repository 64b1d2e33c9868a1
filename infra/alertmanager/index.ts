export {
  startAlertmanager,
  ensureAlertmanager,
  findAlertmanager,
  alertmanagerVersion,
  ALERTMANAGER_DEBIAN_PACKAGE,
  ALERTMANAGER_BINARIES,
  type AlertmanagerServer,
  type StartAlertmanagerOptions,
} from './server.js';
export { alertmanagerService } from './service.js';
