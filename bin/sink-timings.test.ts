import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { generateCity, loadConfig } from '../core/index.js';
import { defaultKinds } from '../core/kinds/modules.js';
import { testNow } from '../test/clock.js';
import { testConfig, waitFor } from '../test/helpers.js';
import { publishAll } from '../test/publish.js';
import { startPipeline, type RunningPipeline } from './pipeline.js';
import { NOTIFIER_DEFAULTS } from '../processors/sinks/alertmanager/index.js';
import { ANNOTATOR_DEFAULTS } from '../processors/sinks/grafana/index.js';
import { INFLUX_SINK_DEFAULTS, INFLUX_WRITER_DEFAULTS } from '../processors/sinks/influxdb/index.js';
import { alertmanagerTimings, grafanaTimings, influxTimings } from './sink-timings.js';

describe("the sinks' timings from the configuration", () => {
  it("default to the sinks' own defaults", () => {
    const c = loadConfig({});
    expect(influxTimings(c)).toEqual({
      timeoutMs: INFLUX_WRITER_DEFAULTS.timeoutMs,
      retryWithinMs: INFLUX_WRITER_DEFAULTS.retryWithinMs,
      minRetryDelayMs: INFLUX_WRITER_DEFAULTS.minRetryDelayMs,
      maxRetryDelayMs: INFLUX_WRITER_DEFAULTS.maxRetryDelayMs,
      rollupRetryMs: INFLUX_SINK_DEFAULTS.rollupRetryMs,
    });
    expect(alertmanagerTimings(c)).toEqual({
      resendIntervalMs: NOTIFIER_DEFAULTS.resendIntervalMs,
      requestTimeoutMs: NOTIFIER_DEFAULTS.requestTimeoutMs,
      retryMinMs: NOTIFIER_DEFAULTS.retryMinMs,
      retryMaxMs: NOTIFIER_DEFAULTS.retryMaxMs,
      replayResolvedMaxAgeMs: NOTIFIER_DEFAULTS.replayResolvedMaxAgeMs,
    });
    expect(grafanaTimings(c)).toEqual({
      requestTimeoutMs: ANNOTATOR_DEFAULTS.requestTimeoutMs,
      retryWithinMs: ANNOTATOR_DEFAULTS.retryWithinMs,
      retryMinMs: ANNOTATOR_DEFAULTS.retryMinMs,
      retryMaxMs: ANNOTATOR_DEFAULTS.retryMaxMs,
    });
    expect(alertmanagerTimings(c).resendIntervalMs).toBe(60_000); // the re-send every minute the README promises by default
  });

  it('hand each setting to its sink in milliseconds', () => {
    const c = loadConfig({
      INFLUX_TIMEOUT_MS: '2000',
      INFLUX_RETRY_WITHIN_S: '120',
      INFLUX_RETRY_MIN_MS: '100',
      INFLUX_RETRY_MAX_MS: '20000',
      INFLUX_ROLLUP_RETRY_S: '300',
      ALERTMANAGER_RESEND_S: '15',
      ALERTMANAGER_TIMEOUT_MS: '3000',
      ALERTMANAGER_RETRY_MIN_MS: '1000',
      ALERTMANAGER_RETRY_MAX_MS: '60000',
      ALERTMANAGER_REPLAY_RESOLVED_MAX_AGE_S: '0',
      GRAFANA_TIMEOUT_MS: '4000',
      GRAFANA_RETRY_WITHIN_S: '60',
      GRAFANA_RETRY_MIN_MS: '500',
      GRAFANA_RETRY_MAX_MS: '8000',
    });
    expect(influxTimings(c)).toEqual({
      timeoutMs: 2000,
      retryWithinMs: 120_000,
      minRetryDelayMs: 100,
      maxRetryDelayMs: 20_000,
      rollupRetryMs: 300_000,
    });
    expect(alertmanagerTimings(c)).toEqual({
      resendIntervalMs: 15_000,
      requestTimeoutMs: 3000,
      retryMinMs: 1000,
      retryMaxMs: 60_000,
      replayResolvedMaxAgeMs: 0,
    });
    expect(grafanaTimings(c)).toEqual({ requestTimeoutMs: 4000, retryWithinMs: 60_000, retryMinMs: 500, retryMaxMs: 8000 });
  });
});

/**
 * Through the environment into the running sinks: InfluxDB, Alertmanager and Grafana all pointed at
 * a server that takes requests and never answers. With `*_TIMEOUT_MS=300` each sink gives up on a
 * request and tries again within seconds; with the shipped 10 s none would within the wait.
 */
describe('sink timings in a running pipeline', () => {
  let pipeline: RunningPipeline | undefined;
  let silent: Server | undefined;
  afterAll(async () => {
    silent?.closeAllConnections();
    await pipeline?.close();
    await new Promise((r) => silent?.close(r));
  });

  it('each sink abandons a request after its *_TIMEOUT_MS and tries again', async () => {
    const requests: string[] = [];
    silent = createServer((req) => requests.push(req.url ?? '')); // never answers
    await new Promise<void>((r) => silent!.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const registry = generateCity(defaultKinds());
    const lamp = registry.ofKind('streetlight')[0]!;
    pipeline = await startPipeline({
      config: testConfig({
        ALERT_HOLD_S: '0',
        EVAL_INTERVAL_MS: '250',
        INFLUX_URL: url,
        INFLUX_TOKEN: 'token',
        INFLUX_ORG: 'city',
        INFLUX_BUCKET: 'citybrain',
        ALERTMANAGER_URL: url,
        GRAFANA_URL: url,
        ...Object.fromEntries(
          ['INFLUX', 'ALERTMANAGER', 'GRAFANA'].flatMap((s) => [
            [`${s}_TIMEOUT_MS`, '300'],
            [`${s}_RETRY_MIN_MS`, '100'],
            [`${s}_RETRY_MAX_MS`, '200'],
          ]),
        ),
      }),
      registry,
      defaultMetrics: false,
      clock: testNow,
    });
    await publishAll(`mqtt://127.0.0.1:${pipeline.mqttPort}`, [
      {
        topic: `city/${lamp.district}/streetlight/${lamp.nodeId}/telemetry`,
        payload: JSON.stringify({ ts: testNow(), powerState: 'on', battery: 0.05 }),
      },
    ]);
    const count = (path: string) => requests.filter((r) => r.startsWith(path)).length;
    await waitFor(
      () => count('/api/v2/write') >= 2 && count('/api/v2/alerts') >= 2 && count('/api/annotations') >= 2,
      8_000,
      'two attempts of each sink',
    ).catch((e: Error) => {
      throw new Error(
        `${e.message}: InfluxDB ${count('/api/v2/write')}, Alertmanager ${count('/api/v2/alerts')}, Grafana ${count('/api/annotations')}`,
      );
    });
  }, 60_000);
});
