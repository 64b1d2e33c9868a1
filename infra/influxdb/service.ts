import type { ServiceModule } from '../services.js';
import { startInfluxdb } from './server.js';

/**
 * `infra:up influxdb`: a detached InfluxDB OSS 1.x (built from source once, see build.ts) with HTTP
 * auth off on loopback; writes INFLUX_URL, INFLUX_TOKEN (a `user:password` placeholder, ignored
 * while auth is off), INFLUX_ORG (ignored by 1.x) and INFLUX_BUCKET (`citybrain/autogen`).
 */
export const influxdbService: ServiceModule = {
  name: 'influxdb',
  async up({ dataDir, logFile, log }) {
    const influx = await startInfluxdb({ dataDir, logFile, detached: true, log });
    return {
      pid: influx.pid,
      env: { INFLUX_URL: influx.url, INFLUX_TOKEN: influx.token, INFLUX_ORG: influx.org, INFLUX_BUCKET: influx.bucket },
      // The generated config path is on influxd's command line: `down` never signals a reused pid.
      commandMatch: influx.configFile,
      summary: `InfluxDB ${influx.version} at ${influx.url} bucket ${influx.bucket} (pid ${influx.pid}, ready in ${(influx.startMs / 1000).toFixed(1)} s, log ${logFile})`,
    };
  },
};
