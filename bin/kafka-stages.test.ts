import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCity, localDayStart } from '../core/index.js';
import { kafkaFixture } from '../infra/fixtures/kafka.js';
import { metricValue, testConfig, waitFor } from '../test/helpers.js';
import { publishAll } from '../test/publish.js';
import { comparableKpis, readingStream } from '../test/readings.js';
import { spawnStage, type StageProcess } from '../test/stage-process.js';
import { startPipeline } from './pipeline.js';

/**
 * The stages as separate processes on a real Apache Kafka broker: ingest, two processor
 * instances sharing the partitions, and the API. The same readings through the embedded pipeline
 * give the reference KPIs.
 */
const READINGS = 10_000;
// 22:30 local yesterday: lamps scheduled on, a GB 3096 night hour, readings a minute apart per node.
const BASE = localDayStart(Date.now()) - 1.5 * 3_600_000;
// Judge freshness loosely so the two runs, minutes apart, see the same nodes online.
const SETTINGS = { ONLINE_GRACE_FACTOR: '30', EVAL_INTERVAL_MS: '250', MAX_FUTURE_SKEW_S: '300' };

const registry = generateCity();
const publishes = readingStream(registry, READINGS, BASE);
let reference: unknown;

async function kpisOf(api: string): Promise<unknown> {
  return (await fetch(`${api}/api/v1/kpis`)).json();
}

describe('stages on Kafka', () => {
  const running: StageProcess[] = [];
  let brokers = '';

  beforeAll(async () => {
    // The reference: the embedded pipeline on the same readings.
    const embedded = await startPipeline({ config: testConfig(SETTINGS), registry, defaultMetrics: false });
    await publishAll(`mqtt://127.0.0.1:${embedded.mqttPort}`, publishes);
    const api = `http://127.0.0.1:${embedded.httpPort}`;
    await waitFor(async () => {
      const text = await (await fetch(`${api}/metrics`)).text();
      return ['streetlight', 'groundwater', 'noise', 'parking'].reduce((s, kind) => s + metricValue(text, 'citybrain_readings_processed_total', { kind }), 0) === READINGS;
    }, 60_000, 'embedded run processed everything');
    await new Promise((r) => setTimeout(r, 1000)); // one more evaluation after the last reading
    reference = comparableKpis(await kpisOf(api));
    await embedded.close();
    brokers = (await kafkaFixture()).brokers.join(',');
  }, 300_000);

  afterAll(async () => {
    for (const p of running) p.child.kill('SIGKILL');
    await (await kafkaFixture().catch(() => null))?.release();
  });

  const processed = async (procs: StageProcess[]) => {
    let sum = 0;
    for (const p of procs) {
      const text = await p.metrics();
      for (const kind of ['streetlight', 'groundwater', 'noise', 'parking']) sum += metricValue(text, 'citybrain_readings_processed_total', { kind });
    }
    return sum;
  };

  it('10,000 readings over MQTT QoS 1 through ingest, two processors and the API: all processed, KPIs equal to the embedded run', async () => {
    const env = { KAFKA_BROKERS: brokers, ...SETTINGS };
    const ingest = await spawnStage('ingest', env);
    const procA = await spawnStage('process', env);
    const procB = await spawnStage('process', env);
    const api = await spawnStage('api', env);
    running.push(ingest, procA, procB, api);

    const { acked } = await publishAll(`mqtt://127.0.0.1:${ingest.mqttPort}`, publishes);
    expect(acked).toBe(READINGS);
    const ingestText = await ingest.metrics();
    expect(['streetlight', 'groundwater', 'noise', 'parking'].reduce((s, kind) => s + metricValue(ingestText, 'citybrain_readings_accepted_total', { kind }), 0)).toBe(READINGS);

    await waitFor(async () => (await processed([procA, procB])) === READINGS, 60_000, 'both processors together processed every reading');
    // Both instances took a share of the partitions.
    expect(await processed([procA])).toBeGreaterThan(0);
    expect(await processed([procB])).toBeGreaterThan(0);

    const apiUrl = `http://127.0.0.1:${api.httpPort}`;
    let last: unknown;
    await waitFor(async () => {
      last = comparableKpis(await kpisOf(apiUrl));
      return JSON.stringify(last) === JSON.stringify(reference);
    }, 30_000, 'KPIs equal to the embedded run').catch(() => expect(last).toEqual(reference));

    const node = [...registry.all()][5]!;
    const view = (await (await fetch(`${apiUrl}/api/v1/nodes/${node.nodeId}`)).json()) as { latest?: { ts: number } };
    expect(view.latest?.ts).toBeGreaterThanOrEqual(BASE);
  }, 300_000);
});
