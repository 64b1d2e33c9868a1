import type { Config } from '../core/index.js';
import type { AlertmanagerNotifierOptions } from '../processors/sinks/alertmanager/index.js';
import type { GrafanaAnnotatorOptions } from '../processors/sinks/grafana/index.js';
import type { InfluxSinkOptions } from '../processors/sinks/influxdb/index.js';

/**
 * The sinks' timings from the configuration (core/config.ts; README "Configuration"): the settings
 * are in the operator's units (s, ms), the sinks' options in ms. The config's defaults are the sinks'
 * own (`sink-timings.test.ts` holds them equal).
 */
export function influxTimings(
  c: Config,
): Pick<InfluxSinkOptions, 'timeoutMs' | 'retryWithinMs' | 'minRetryDelayMs' | 'maxRetryDelayMs' | 'rollupRetryMs'> {
  return {
    timeoutMs: c.INFLUX_TIMEOUT_MS,
    retryWithinMs: c.INFLUX_RETRY_WITHIN_S * 1000,
    minRetryDelayMs: c.INFLUX_RETRY_MIN_MS,
    maxRetryDelayMs: c.INFLUX_RETRY_MAX_MS,
    rollupRetryMs: c.INFLUX_ROLLUP_RETRY_S * 1000,
  };
}

export function alertmanagerTimings(
  c: Config,
): Pick<AlertmanagerNotifierOptions, 'resendIntervalMs' | 'requestTimeoutMs' | 'retryMinMs' | 'retryMaxMs' | 'replayResolvedMaxAgeMs'> {
  return {
    resendIntervalMs: c.ALERTMANAGER_RESEND_S * 1000,
    requestTimeoutMs: c.ALERTMANAGER_TIMEOUT_MS,
    retryMinMs: c.ALERTMANAGER_RETRY_MIN_MS,
    retryMaxMs: c.ALERTMANAGER_RETRY_MAX_MS,
    replayResolvedMaxAgeMs: c.ALERTMANAGER_REPLAY_RESOLVED_MAX_AGE_S * 1000,
  };
}

export function grafanaTimings(
  c: Config,
): Pick<GrafanaAnnotatorOptions, 'requestTimeoutMs' | 'retryWithinMs' | 'retryMinMs' | 'retryMaxMs'> {
  return {
    requestTimeoutMs: c.GRAFANA_TIMEOUT_MS,
    retryWithinMs: c.GRAFANA_RETRY_WITHIN_S * 1000,
    retryMinMs: c.GRAFANA_RETRY_MIN_MS,
    retryMaxMs: c.GRAFANA_RETRY_MAX_MS,
  };
}
