export {
  startInfluxdb,
  influxdbConfig,
  influxql,
  authHeader,
  DEFAULT_DATABASE,
  DEFAULT_ORG,
  DEFAULT_RETENTION_POLICY,
  type InfluxdbServer,
  type StartInfluxdbOptions,
} from './server.js';
export {
  ensureInfluxd,
  cachedInfluxd,
  influxdbHome,
  influxdbVersion,
  INFLUXDB_VERSION,
  PKG_CONFIG_WRAPPER_VERSION,
  type InfluxdBinary,
} from './build.js';
export { influxdbService } from './service.js';
