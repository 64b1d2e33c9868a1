import type { ServiceModule } from '../services.js';
import { startAlertmanager } from './server.js';

/**
 * `infra:up alertmanager`: a detached Alertmanager (Debian's prometheus-alertmanager, installed with
 * apt-get first when missing and running as root) with the shipped routing (dashboards/alertmanager.yml
 * as rendered by dashboards/alertmanager.ts); writes ALERTMANAGER_URL.
 */
export const alertmanagerService: ServiceModule = {
  name: 'alertmanager',
  async up({ dataDir, logFile, log }) {
    const am = await startAlertmanager({ dataDir, logFile, detached: true, log });
    return {
      pid: am.pid,
      env: { ALERTMANAGER_URL: am.url },
      // The generated config path (in the service's data dir) is on the command line: `down` never signals a reused pid.
      commandMatch: am.configFile,
      summary: `Alertmanager ${am.version} at ${am.url} (pid ${am.pid}, ready in ${(am.startMs / 1000).toFixed(1)} s, log ${logFile})`,
    };
  },
};
