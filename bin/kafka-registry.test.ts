import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaFixture } from '../infra/fixtures/kafka.js';
import { newRoadsCsv } from '../simulators/bench/registry-import.js';
import { metricValue, waitFor } from '../test/helpers.js';
import { publishAll } from '../test/publish.js';
import { comparableKpis } from '../test/readings.js';
import { BASE, processedIn, publishes, READINGS, registry, SETTINGS } from '../test/reference.js';
import { spawnStage, startStages, type StageProcess } from '../test/stage-process.js';

const NEW_LAMPS = 20;

/**
 * Registry changes on Kafka, with ingest, two processor instances and the API as separate
 * processes: a road of lamps imported with its gateway and a parking lot decommissioned through
 * the API reach every stage without a restart (ingest accepts the new lamps' batch, the processors
 * count them, the API serves them), and a processor instance restarted afterwards rebuilds the
 * same registry from the `registry` topic and gives the same KPIs.
 */
describe('registry changes on Kafka, stages as separate processes', () => {
  const running: StageProcess[] = [];
  let brokers = '';

  beforeAll(async () => {
    brokers = (await kafkaFixture()).brokers.join(',');
  }, 300_000);

  afterAll(async () => {
    for (const p of running) p.child.kill('SIGKILL');
    await (await kafkaFixture().catch(() => null))?.release();
  });

  it('every stage applies an import and a decommission live; a restarted processor has the same registry and KPIs', async () => {
    const env = { KAFKA_BROKERS: brokers, ...SETTINGS };
    const { ingest, processors, api, all } = await startStages(env);
    running.push(...all);
    const apiUrl = `http://127.0.0.1:${api.httpPort}`;
    const kpis = async () => comparableKpis(await (await fetch(`${apiUrl}/api/v1/kpis`)).json()) as any;
    const processed = async (procs: StageProcess[]) =>
      (await Promise.all(procs.map(async (p) => processedIn(await p.metrics())))).reduce((a, b) => a + b, 0);
    /** Each stage's registry: its nodes in service by kind. */
    const nodesIn = async (stage: StageProcess) => {
      const text = await stage.metrics();
      return Object.fromEntries(registry.kinds.names().map((kind) => [kind, metricValue(text, 'citybrain_registry_nodes', { kind })]));
    };

    expect((await publishAll(`mqtt://127.0.0.1:${ingest.mqttPort}`, publishes)).acked).toBe(READINGS);
    await waitFor(async () => (await processed(processors)) === READINGS, 60_000, 'every reading processed');
    const before = await waitFor(async () => ((await kpis()).lighting ? kpis() : undefined), 30_000, 'KPIs');

    // A new road: a gateway and NEW_LAMPS lamps behind it; and one parking lot decommissioned.
    const imported = await fetch(`${apiUrl}/api/v1/registry/import`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: newRoadsCsv(NEW_LAMPS, NEW_LAMPS),
    });
    expect([imported.status, ((await imported.json()) as { created: number }).created]).toEqual([200, NEW_LAMPS + 1]);
    const lot = registry.ofKind('parking')[0]!.lotId;
    const ofLot = registry.ofKind('parking').filter((s) => s.lotId === lot);
    for (const s of ofLot) expect((await fetch(`${apiUrl}/api/v1/nodes/${s.nodeId}`, { method: 'DELETE' })).status).toBe(200);

    const want = Object.fromEntries(registry.kinds.names().map((kind) => [kind, registry.count(kind)]));
    want.streetlight! += NEW_LAMPS;
    want.parking! -= ofLot.length;
    for (const stage of all)
      await waitFor(async () => JSON.stringify(await nodesIn(stage)) === JSON.stringify(want), 15_000, `${stage.name}'s registry`);

    // Ingest accepts the new lamps at once: their gateway's batch, every entry.
    const accepted = metricValue(await ingest.metrics(), 'citybrain_readings_accepted_total', { kind: 'streetlight' });
    const gateway = await mqtt.connectAsync(`mqtt://127.0.0.1:${ingest.mqttPort}`, { clientId: 'GW-BULK-0', reconnectPeriod: 0 });
    const readings = Array.from({ length: NEW_LAMPS }, (_, i) => ({
      nodeId: `SL-BULK-${i}`,
      kind: 'streetlight',
      ts: BASE + 60_000,
      powerState: 'on',
      dim: 100,
      powerW: 98,
      voltageV: 221,
    }));
    await gateway.publishAsync('city/gateways/GW-BULK-0/batch', JSON.stringify({ readings }), { qos: 1 });
    await gateway.endAsync();
    expect(metricValue(await ingest.metrics(), 'citybrain_readings_accepted_total', { kind: 'streetlight' })).toBe(accepted + NEW_LAMPS);
    await waitFor(async () => (await processed(processors)) === READINGS + NEW_LAMPS, 30_000, 'the new lamps processed');

    // The processors count them (each partition's share: facilities, the nodes' health, none of them
    // unknown) and the API serves them; the lot is gone from the parking KPIs and the node counts.
    const total = Object.values(want).reduce((a, b) => a + b, 0);
    const after = await waitFor(
      async () => {
        const k = await kpis();
        const counted =
          k.lighting.lamps === want.streetlight &&
          k.lighting.intact.facilities === want.streetlight &&
          k.lighting.unknown === before.lighting.unknown &&
          k.parking.spaces === before.parking.spaces - ofLot.length &&
          k.nodes.total === total &&
          k.nodes.online === before.nodes.online + NEW_LAMPS - ofLot.length;
        return counted ? k : undefined;
      },
      30_000,
      'the KPIs with the new road and without the lot',
    );
    expect(((await (await fetch(`${apiUrl}/api/v1/nodes/SL-BULK-3`)).json()) as { node: { gatewayId: string } }).node.gatewayId).toBe(
      'GW-BULK-0',
    );

    // A processor instance restarted after the changes: the same registry, rebuilt from the topic, and the same KPIs.
    const [, old] = processors as [StageProcess, StageProcess];
    old.child.kill('SIGKILL');
    await old.exited;
    const restarted = await spawnStage('process', env);
    running.push(restarted);
    await waitFor(
      async () => JSON.stringify(await nodesIn(restarted)) === JSON.stringify(want),
      30_000,
      "the restarted processor's registry",
    );
    let last: unknown;
    await waitFor(
      async () => {
        last = await kpis();
        return JSON.stringify(last) === JSON.stringify(after);
      },
      60_000,
      'the KPIs after the restart',
    ).catch(() => expect(last).toEqual(after));
  }, 300_000);
});
