import type { ServiceModule } from '../services.js';
import { startMosquitto } from './server.js';

/** `infra:up mosquitto`: a detached Mosquitto (Debian's package, installed when missing and root); writes MOSQUITTO_URL. */
export const mosquittoService: ServiceModule = {
  name: 'mosquitto',
  async up({ dataDir, logFile, log }) {
    const m = await startMosquitto({ dataDir, logFile, detached: true, log });
    return {
      pid: m.pid,
      env: { MOSQUITTO_URL: m.url },
      // The generated config (in the service's data dir) is on the command line: `down` never signals a reused pid.
      commandMatch: m.configFile,
      summary: `Mosquitto ${m.version} at ${m.url} (pid ${m.pid}, ready in ${(m.startMs / 1000).toFixed(1)} s, log ${logFile})`,
    };
  },
};
