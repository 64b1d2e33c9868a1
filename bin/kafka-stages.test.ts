import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { influxdbFixture, INFLUXDB_FIXTURE_TIMEOUT_MS } from '../infra/fixtures/influxdb.js';
import { kafkaFixture } from '../infra/fixtures/kafka.js';
import { select } from '../test/influxql.js';
import { waitFor } from '../test/helpers.js';
import { publishAll } from '../test/publish.js';
import {
  acceptedIn,
  BASE,
  expectKpisToReach,
  processedIn,
  publishes,
  READINGS,
  referenceKpis,
  registry,
  SETTINGS,
} from '../test/reference.js';
import { spawnStage, startStages, type StageProcess } from '../test/stage-process.js';

/**
 * The four stages as separate processes on a real Apache Kafka broker: ingest, two processor
 * instances sharing the partitions, the API and the sink (to a real InfluxDB). The same readings
 * through the embedded pipeline give the reference KPIs.
 */
describe('stages on Kafka', () => {
  const running: StageProcess[] = [];
  let reference: unknown;
  let brokers = '';

  beforeAll(async () => {
    reference = await referenceKpis();
    brokers = (await kafkaFixture()).brokers.join(',');
    await influxdbFixture();
  }, INFLUXDB_FIXTURE_TIMEOUT_MS);

  afterAll(async () => {
    for (const p of running) p.child.kill('SIGKILL');
    await (await kafkaFixture().catch(() => null))?.release();
    await (await influxdbFixture().catch(() => null))?.release();
  });

  it('10,000 readings over MQTT QoS 1 through ingest, two processors, the API and the sink: all processed, KPIs equal to the embedded run', async () => {
    const env = { KAFKA_BROKERS: brokers, ...SETTINGS };
    const { ingest, processors, api, all } = await startStages(env);
    const [procA, procB] = processors as [StageProcess, StageProcess];
    running.push(...all);
    const influx = await influxdbFixture();
    const sink = await spawnStage('sink', {
      ...env,
      INFLUX_URL: influx.url,
      INFLUX_TOKEN: influx.token,
      INFLUX_ORG: influx.org,
      INFLUX_BUCKET: influx.bucket,
    });
    running.push(sink);

    const { acked } = await publishAll(`mqtt://127.0.0.1:${ingest.mqttPort}`, publishes);
    expect(acked).toBe(READINGS);
    const ingestText = await ingest.metrics();
    expect(acceptedIn(ingestText)).toBe(READINGS);

    const processed = async () => processedIn(await procA.metrics()) + processedIn(await procB.metrics());
    await waitFor(async () => (await processed()) === READINGS, 60_000, 'both processors together processed every reading');
    // Both instances took a share of the partitions.
    expect(processedIn(await procA.metrics())).toBeGreaterThan(0);
    expect(processedIn(await procB.metrics())).toBeGreaterThan(0);

    const apiUrl = `http://127.0.0.1:${api.httpPort}`;
    await expectKpisToReach(apiUrl, reference, 30_000, expect);
    // The sink process wrote those KPIs to InfluxDB: the latest city points have the same numbers. (lit
    // and expected, not the rate: by day the rate is null, and a null field is not written.) By numbers,
    // not at the API's evaluation: the metrics topics get a section when it changed, at most every
    // METRICS_SUMMARY_INTERVAL_S (10 s), so a point's time is the evaluation that wrote it, which may be
    // a later one. Of the readings' event time, which lies at least 3 h before the wall clock
    // (test/clock.ts): the first evaluation, before any partial, is at the wall clock.
    const now = (await (await fetch(`${apiUrl}/api/v1/kpis`)).json()) as {
      lighting: { rate: number | null; lit: number; expected: number };
      nodes: { online: number };
    };
    const expected = reference as { lighting: { rate: number | null; lit: number; expected: number }; nodes: { online: number } };
    expect(now.lighting.rate).toBe(expected.lighting.rate);
    const latest = async (from: string) =>
      (
        await select(
          influx.url,
          influx.database,
          `SELECT * FROM ${from} AND time <= ${Date.now() - 3_600_000}ms ORDER BY time DESC LIMIT 1`,
        )
      )[0];
    await waitFor(
      async () => {
        const [lighting, nodes] = [await latest(`lighting WHERE scope = 'city'`), await latest(`nodes WHERE scope = 'city'`)];
        return (
          lighting?.lit === expected.lighting.lit &&
          lighting?.expected === expected.lighting.expected &&
          nodes?.online === expected.nodes.online
        );
      },
      30_000,
      "InfluxDB's latest city points to hold the KPIs the API reported",
    );
    const node = [...registry.all()][5]!;
    const view = (await (await fetch(`${apiUrl}/api/v1/nodes/${node.nodeId}`)).json()) as { latest?: { ts: number } };
    expect(view.latest?.ts).toBeGreaterThanOrEqual(BASE);
  }, 300_000);
});
