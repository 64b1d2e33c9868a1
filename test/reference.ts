import { startPipeline, type RunningPipeline } from '../bin/pipeline.js';
import { generateCity, MemoryTransport, TOPICS, type Consumer } from '../core/index.js';
import { TEST_START } from './clock.js';
import { metricValue, testConfig, waitFor } from './helpers.js';
import { publishAll } from './publish.js';
import { comparableKpis, readingStream, type Publish } from './readings.js';
import { defaultKinds } from '../core/kinds/modules.js';

export const READINGS = 10_000;
/** The tests' simulated start (22:30 local unless CITY_BRAIN_TEST_TIME says otherwise); readings a minute apart per node. */
export const BASE = TEST_START;
/** Freshness judged loosely so runs minutes apart see the same nodes online. */
export const SETTINGS = { ONLINE_GRACE_FACTOR: '30', EVAL_INTERVAL_MS: '250', MAX_FUTURE_SKEW_S: '300', MQTT_AUTH: 'off' };

export const registry = generateCity(defaultKinds());
export const publishes = readingStream(registry, READINGS, BASE);

/** Summed over every kind the city has (built-in and profile). */
export function processedIn(metricsText: string): number {
  return registry.kinds.names().reduce((sum, kind) => sum + metricValue(metricsText, 'citybrain_readings_processed_total', { kind }), 0);
}

export function acceptedIn(metricsText: string): number {
  return registry.kinds.names().reduce((sum, kind) => sum + metricValue(metricsText, 'citybrain_readings_accepted_total', { kind }), 0);
}

/** Rejections over every reason (ingest's, and `late` from the processors). */
export function rejectedIn(metricsText: string): number {
  return metricsText
    .split('\n')
    .filter((l) => l.startsWith('citybrain_readings_rejected_total{'))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

export interface ReferencePipeline {
  pipeline: RunningPipeline;
  api: string;
  /**
   * Resolves once `readings` readings are processed and an evaluation has merged the processors'
   * partials computed after the last of them: a condition, not a time.
   */
  settled: (readings: number) => Promise<void>;
}

/**
 * An embedded pipeline for a reference run, on an in-process log whose aggregator input can be
 * watched. Its clock is the wall clock, like the spawned `city-brain` processes it is compared with.
 */
export async function startReferencePipeline(settings: Record<string, string> = SETTINGS): Promise<ReferencePipeline> {
  const transport = new MemoryTransport();
  let aggregatorInput: Consumer | undefined;
  const consume = transport.consume.bind(transport);
  transport.consume = async (options) => {
    const consumer = await consume(options);
    if (options.topics.includes(TOPICS.partials)) aggregatorInput = consumer;
    return consumer;
  };
  const pipeline = await startPipeline({ config: testConfig(settings), registry, transport, defaultMetrics: false });
  const api = `http://127.0.0.1:${pipeline.httpPort}`;
  return {
    pipeline,
    api,
    async settled(readings: number) {
      let text = '';
      await waitFor(
        async () => processedIn((text = await (await fetch(`${api}/metrics`)).text())) === readings,
        60_000,
        'embedded run processed everything',
      ).catch((error: Error) => {
        // What the counters said last: more processed than published, fewer, or some rejected.
        throw new Error(
          `${error.message}: ${readings} published, accepted ${acceptedIn(text)}, processed ${processedIn(text)}, rejected ${rejectedIn(text)} (${text
            .split('\n')
            .filter((l) => l.startsWith('citybrain_readings_rejected_total{'))
            .join(', ')})`,
        );
      });
      // Partials computed after the last reading was applied: an evaluation begun after the count
      // was read (tick() joins one in progress, hence twice). They are in the log when it resolves.
      await pipeline.host.tick();
      await pipeline.host.tick();
      // The aggregator has read them once its committed position on metrics.partials (the log's end
      // read before its lag, minus that lag: a lower bound) passes them; then one evaluation begun after that.
      const written = transport.topic(TOPICS.partials)[0]!.end;
      await waitFor(
        async () => {
          const end = transport.topic(TOPICS.partials)[0]!.end;
          const lag = (await aggregatorInput?.lag())?.[TOPICS.partials];
          return lag !== undefined && end - lag >= written;
        },
        60_000,
        'the aggregator read the last partials',
      );
      await pipeline.aggregator.tick();
      await pipeline.aggregator.tick();
    },
  };
}

/**
 * The KPIs of the embedded pipeline after the reference readings (or `stream`, valid readings
 * only): what every other topology must equal.
 */
export async function referenceKpis(stream: Publish[] = publishes): Promise<unknown> {
  const { pipeline, api, settled } = await startReferencePipeline(SETTINGS);
  try {
    await publishAll(`mqtt://127.0.0.1:${pipeline.mqttPort}`, stream);
    await settled(stream.length);
    return comparableKpis(await (await fetch(`${api}/api/v1/kpis`)).json());
  } finally {
    await pipeline.close();
  }
}

/**
 * Waits until the API's KPIs equal the reference; on time-out fails with the difference. `shape`
 * drops what a test compares on its own (apply it to the reference too).
 */
export async function expectKpisToReach(
  api: string,
  reference: unknown,
  timeoutMs: number,
  expect: (a: unknown) => { toEqual(b: unknown): void },
  shape: (kpis: unknown) => unknown = (k) => k,
): Promise<void> {
  let last: unknown;
  await waitFor(
    async () => {
      last = shape(comparableKpis(await (await fetch(`${api}/api/v1/kpis`)).json()));
      return JSON.stringify(last) === JSON.stringify(reference);
    },
    timeoutMs,
    'KPIs equal to the embedded run',
  ).catch(() => expect(last).toEqual(reference));
}

/** `valid` with one malformed publish after every 20th (each unique, on a real node's topic): rejected as bad-json. */
export function withMalformed(valid: Publish[]): { stream: Publish[]; malformed: number } {
  const stream: Publish[] = [];
  valid.forEach((p, i) => {
    stream.push(p);
    if (i % 20 === 19) stream.push({ topic: p.topic, payload: `{"ts":${i},"broken":` });
  });
  return { stream, malformed: stream.length - valid.length };
}

/** KPIs without the rejection counts, checked on their own where ingest restarts (a resent rejected publish is rejected again). */
export function withoutRejections(kpis: unknown): unknown {
  const copy = structuredClone(kpis) as { nodes?: { rejectedLast5m?: unknown } };
  delete copy.nodes?.rejectedLast5m;
  return copy;
}
