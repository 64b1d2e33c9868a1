import { startPipeline } from '../bin/pipeline.js';
import { generateCity } from '../core/index.js';
import { TEST_START } from './clock.js';
import { metricValue, testConfig, waitFor } from './helpers.js';
import { publishAll } from './publish.js';
import { comparableKpis, readingStream, type Publish } from './readings.js';

export const READINGS = 10_000;
export const KINDS = ['streetlight', 'groundwater', 'noise', 'parking'] as const;
/** The tests' simulated start (22:30 local unless CITY_BRAIN_TEST_TIME says otherwise); readings a minute apart per node. */
export const BASE = TEST_START;
/** Freshness judged loosely so runs minutes apart see the same nodes online. */
export const SETTINGS = { ONLINE_GRACE_FACTOR: '30', EVAL_INTERVAL_MS: '250', MAX_FUTURE_SKEW_S: '300', MQTT_AUTH: 'off' };

export const registry = generateCity();
export const publishes = readingStream(registry, READINGS, BASE);

export function processedIn(metricsText: string): number {
  return KINDS.reduce((sum, kind) => sum + metricValue(metricsText, 'citybrain_readings_processed_total', { kind }), 0);
}

export function acceptedIn(metricsText: string): number {
  return KINDS.reduce((sum, kind) => sum + metricValue(metricsText, 'citybrain_readings_accepted_total', { kind }), 0);
}

/** Rejections over every reason (ingest's, and `late` from the processors). */
export function rejectedIn(metricsText: string): number {
  return metricsText
    .split('\n')
    .filter((l) => l.startsWith('citybrain_readings_rejected_total{'))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/**
 * The KPIs of the embedded pipeline after the reference readings (or `stream`, valid readings
 * only): what every other topology must equal.
 */
export async function referenceKpis(stream: Publish[] = publishes): Promise<unknown> {
  const embedded = await startPipeline({ config: testConfig(SETTINGS), registry, defaultMetrics: false });
  try {
    await publishAll(`mqtt://127.0.0.1:${embedded.mqttPort}`, stream);
    const api = `http://127.0.0.1:${embedded.httpPort}`;
    await waitFor(async () => processedIn(await (await fetch(`${api}/metrics`)).text()) === stream.length, 60_000, 'embedded run processed everything');
    await new Promise((r) => setTimeout(r, 1000)); // one more evaluation after the last reading
    return comparableKpis(await (await fetch(`${api}/api/v1/kpis`)).json());
  } finally {
    await embedded.close();
  }
}

/**
 * Waits until the API's KPIs equal the reference; on time-out fails with the difference. `shape`
 * drops what a test compares on its own (apply it to the reference too).
 */
export async function expectKpisToReach(api: string, reference: unknown, timeoutMs: number, expect: (a: unknown) => { toEqual(b: unknown): void }, shape: (kpis: unknown) => unknown = (k) => k): Promise<void> {
  let last: unknown;
  await waitFor(async () => {
    last = shape(comparableKpis(await (await fetch(`${api}/api/v1/kpis`)).json()));
    return JSON.stringify(last) === JSON.stringify(reference);
  }, timeoutMs, 'KPIs equal to the embedded run').catch(() => expect(last).toEqual(reference));
}
