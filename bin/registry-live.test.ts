import { randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeRegistry, restsAtHalfNight, type NodeOf, type RegistryChange, type RegistryNode } from '../core/index.js';
import { defaultKinds } from '../core/kinds/modules.js';
import { testNow } from '../test/clock.js';
import { lamp } from '../test/fixtures.js';
import { metricValue, testConfig, waitFor } from '../test/helpers.js';
import { startPipeline, type RunningPipeline } from './pipeline.js';

const space = (lot: string, i: number, spaces: number): NodeOf<'parking'> => ({
  nodeId: `P-${lot}-${i}`,
  kind: 'parking',
  district: 'Lixia',
  lat: 36.6,
  lon: 117,
  lotId: lot,
  lotName: `Lot ${lot}`,
  spaces,
});

/**
 * Registry changes applied live by every stage of the embedded pipeline, without a restart:
 * ingest accepts a node created a moment ago and dead-letters a decommissioned one's readings
 * (`decommissioned`), the processors and the aggregator count lamps and lots as they now are.
 */
describe('registry changes applied live', () => {
  let pipeline: RunningPipeline;
  let client: MqttClient;
  let api: string;
  const lamps = Array.from({ length: 10 }, (_, i) => lamp(i + 1));
  const spaces = [...Array.from({ length: 5 }, (_, i) => space('A', i, 5)), ...Array.from({ length: 3 }, (_, i) => space('B', i, 3))];
  const kpis = async () => (await (await fetch(`${api}/api/v1/kpis`)).json()) as any;
  const metrics = async () => (await fetch(`${api}/metrics`)).text();
  /** The KPIs once `holds` is true of them. */
  const kpisWhen = (holds: (k: any) => boolean, what: string) =>
    waitFor(
      async () => {
        const k = await kpis();
        return holds(k) ? k : undefined;
      },
      20_000,
      what,
    );
  const change = (op: RegistryChange['op'], node: RegistryNode): RegistryChange => ({
    changeId: randomUUID(),
    at: Date.now(),
    op,
    entity: 'node',
    id: node.nodeId,
    value: node,
    by: { name: 'test', role: 'admin' },
  });
  const lampOn = (l: RegistryNode) =>
    client.publishAsync(
      `city/${l.district}/streetlight/${l.nodeId}/telemetry`,
      JSON.stringify({ ts: testNow(), powerState: 'on', dim: 100, powerW: 195, voltageV: 221 }),
      { qos: 1 },
    );

  beforeAll(async () => {
    pipeline = await startPipeline({
      config: testConfig({ EVAL_INTERVAL_MS: '200' }),
      registry: new NodeRegistry([...lamps, ...spaces], [], defaultKinds()),
      defaultMetrics: false,
      clock: testNow,
    });
    api = `http://127.0.0.1:${pipeline.httpPort}`;
    client = await mqtt.connectAsync(`mqtt://127.0.0.1:${pipeline.mqttPort}`, { clientId: 'registry-live', reconnectPeriod: 0 });
    for (const l of lamps) await lampOn(l);
    for (const [i, s] of spaces.entries())
      await client.publishAsync(
        `city/Lixia/parking/${s.nodeId}/telemetry`,
        JSON.stringify({ ts: testNow(), status: i % 2 ? 'free' : 'occupied', batteryV: 3.3 }),
        { qos: 1 },
      );
  });
  afterAll(async () => {
    await client?.endAsync();
    await pipeline?.close();
  });

  it('a decommissioned lamp leaves the lighting rate denominators; its readings are dead-lettered as decommissioned', async () => {
    const due = lamps.filter((l) => !restsAtHalfNight(l.nodeId)).length; // half-night: the others rest
    await kpisWhen((k) => k.lighting?.expected === due, 'the lamps due on expected lit');
    const gone = lamps.find((l) => !restsAtHalfNight(l.nodeId))!;
    await pipeline.registryFeed.publish([change('decommission', gone)]);
    const after = await kpisWhen((k) => k.lighting.expected === due - 1, 'one lamp less expected lit');
    expect(after.lighting.lamps).toBe(9);
    expect(after.nodes.total).toBe(17);
    const before = metricValue(await metrics(), 'citybrain_readings_rejected_total', { reason: 'decommissioned' });
    await lampOn(gone);
    expect(metricValue(await metrics(), 'citybrain_readings_rejected_total', { reason: 'decommissioned' })).toBe(before + 1);
    expect((await fetch(`${api}/api/v1/nodes/${gone.nodeId}`)).status).toBe(404);
  });

  it('a lamp created while the pipeline runs is accepted at once and counted', async () => {
    const added = Array.from({ length: 20 }, (_, i) => lamp(100 + i, { circuit: 'C2', road: 'New Road' })).find(
      (l) => !restsAtHalfNight(l.nodeId),
    )!;
    const before = await kpis();
    const accepted = metricValue(await metrics(), 'citybrain_readings_accepted_total', { kind: 'streetlight' });
    await pipeline.registryFeed.publish([change('create', added)]);
    await lampOn(added);
    expect(metricValue(await metrics(), 'citybrain_readings_accepted_total', { kind: 'streetlight' })).toBe(accepted + 1);
    const k = await kpisWhen((k) => k.lighting.expected === before.lighting.expected + 1, 'the new lamp expected lit');
    expect(k.lighting.lamps).toBe(before.lighting.lamps + 1);
    expect(k.lighting.lit).toBe(before.lighting.lit + 1);
  });

  it("a lot decommissioned leaves the parking KPIs; a lot's spaces changed count at once", async () => {
    await kpisWhen((k) => k.parking?.spaces === 8, 'both lots');
    await pipeline.registryFeed.publish(spaces.filter((s) => s.lotId === 'B').map((s) => change('decommission', s)));
    const k = await kpisWhen((k) => k.parking.spaces === 5, 'lot B gone');
    expect(k.parking.lots).toBe(1);
    expect(k.parking.occupied + k.parking.free).toBe(5);
    await pipeline.registryFeed.publish(spaces.filter((s) => s.lotId === 'A').map((s) => change('update', { ...s, spaces: 12 })));
    const grown = await kpisWhen((k) => k.parking.spaces === 12, 'lot A with 12 spaces');
    expect(grown.parking.unknown).toBe(7);
  });

  it('a batch carried by a decommissioned gateway is dead-lettered as decommissioned', async () => {
    const gateway = { gatewayId: 'GW-OLD', district: 'Lixia' };
    const behind = { ...lamps[1]!, gatewayId: 'GW-OLD' };
    await pipeline.registryFeed.publish([
      { ...change('update', behind) },
      { ...change('create', behind), entity: 'gateway', id: 'GW-OLD', value: gateway },
    ]);
    await pipeline.registryFeed.publish([{ ...change('decommission', behind), entity: 'gateway', id: 'GW-OLD', value: gateway }]);
    const before = metricValue(await metrics(), 'citybrain_readings_rejected_total', { reason: 'decommissioned' });
    const entry = { nodeId: behind.nodeId, kind: 'streetlight', ts: testNow(), powerState: 'on', dim: 100, powerW: 195 };
    await client.publishAsync('city/gateways/GW-OLD/batch', JSON.stringify({ readings: [entry] }), { qos: 1 });
    expect(metricValue(await metrics(), 'citybrain_readings_rejected_total', { reason: 'decommissioned' })).toBe(before + 1);
  });
});
