import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaFixture } from '../infra/fixtures/kafka.js';
import { metricValue, waitFor } from '../test/helpers.js';
import { publishAll } from '../test/publish.js';
import { BASE, expectKpisToReach, KINDS, processedIn, publishes, READINGS, referenceKpis, registry, SETTINGS } from '../test/reference.js';
import { startStages, type StageProcess } from '../test/stage-process.js';

/**
 * The stages as separate processes on a real Apache Kafka broker: ingest, two processor
 * instances sharing the partitions, and the API. The same readings through the embedded pipeline
 * give the reference KPIs.
 */
describe('stages on Kafka', () => {
  const running: StageProcess[] = [];
  let reference: unknown;
  let brokers = '';

  beforeAll(async () => {
    reference = await referenceKpis();
    brokers = (await kafkaFixture()).brokers.join(',');
  }, 300_000);

  afterAll(async () => {
    for (const p of running) p.child.kill('SIGKILL');
    await (await kafkaFixture().catch(() => null))?.release();
  });

  it('10,000 readings over MQTT QoS 1 through ingest, two processors and the API: all processed, KPIs equal to the embedded run', async () => {
    const env = { KAFKA_BROKERS: brokers, ...SETTINGS };
    const { ingest, processors, api, all } = await startStages(env);
    const [procA, procB] = processors as [StageProcess, StageProcess];
    running.push(...all);

    const { acked } = await publishAll(`mqtt://127.0.0.1:${ingest.mqttPort}`, publishes);
    expect(acked).toBe(READINGS);
    const ingestText = await ingest.metrics();
    expect(KINDS.reduce((s, kind) => s + metricValue(ingestText, 'citybrain_readings_accepted_total', { kind }), 0)).toBe(READINGS);

    const processed = async () => processedIn(await procA.metrics()) + processedIn(await procB.metrics());
    await waitFor(async () => (await processed()) === READINGS, 60_000, 'both processors together processed every reading');
    // Both instances took a share of the partitions.
    expect(processedIn(await procA.metrics())).toBeGreaterThan(0);
    expect(processedIn(await procB.metrics())).toBeGreaterThan(0);

    const apiUrl = `http://127.0.0.1:${api.httpPort}`;
    await expectKpisToReach(apiUrl, reference, 30_000, expect);
    const node = [...registry.all()][5]!;
    const view = (await (await fetch(`${apiUrl}/api/v1/nodes/${node.nodeId}`)).json()) as { latest?: { ts: number } };
    expect(view.latest?.ts).toBeGreaterThanOrEqual(BASE);
  }, 300_000);
});
