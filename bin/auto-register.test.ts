import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeRegistry, restsAtHalfNight } from '../core/index.js';
import { defaultKinds } from '../core/kinds/modules.js';
import { testNow } from '../test/clock.js';
import { lamp } from '../test/fixtures.js';
import { metricValue, testConfig, waitFor } from '../test/helpers.js';
import { startPipeline, type RunningPipeline } from './pipeline.js';

/**
 * Registration on first sight (AUTO_REGISTER=quarantine), as an operator meets it: a lamp nobody
 * registered starts publishing, shows up on the pending list with its topic, first message and
 * client, counts in no KPI, and after an operator approves it with its attributes its readings
 * are accepted and counted. A dismissed one stays out.
 */
describe('registration on first sight (AUTO_REGISTER=quarantine)', () => {
  let pipeline: RunningPipeline;
  let client: MqttClient;
  let api: string;
  const lamps = Array.from({ length: 4 }, (_, i) => lamp(i + 1));
  // A lamp due on at night (half-night lamps rest), so approving it raises the expected count.
  const newId = Array.from({ length: 50 }, (_, i) => `SL-NEW-${i}`).find((id) => !restsAtHalfNight(id))!;
  const reading = JSON.stringify({ ts: testNow(), powerState: 'on', dim: 100, powerW: 195, voltageV: 221 });
  const json = async (path: string, init?: RequestInit) => {
    const res = await fetch(`${api}${path}`, init);
    return { status: res.status, body: (await res.json()) as any };
  };
  const metric = async (name: string, labels: Record<string, string>) =>
    metricValue(await (await fetch(`${api}/metrics`)).text(), name, labels);
  /** The KPIs once `holds` is true of them. */
  const kpisWhen = (holds: (k: any) => boolean, what: string) =>
    waitFor(
      async () => {
        const k = (await json('/api/v1/kpis')).body;
        return holds(k) ? k : undefined;
      },
      20_000,
      what,
    );
  const pending = async () => (await json('/api/v1/registry/pending')).body.items as any[];
  const post = (path: string, body: unknown) =>
    json(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  beforeAll(async () => {
    pipeline = await startPipeline({
      config: testConfig({ EVAL_INTERVAL_MS: '200', AUTO_REGISTER: 'quarantine' }),
      registry: new NodeRegistry(lamps, [], defaultKinds()),
      defaultMetrics: false,
      clock: testNow,
    });
    api = `http://127.0.0.1:${pipeline.httpPort}`;
    client = await mqtt.connectAsync(`mqtt://127.0.0.1:${pipeline.mqttPort}`, { clientId: 'field-tech-7', reconnectPeriod: 0 });
    // The registered lamps report: every partition they are on has a share of the KPIs.
    for (const l of lamps) await client.publishAsync(`city/${l.district}/streetlight/${l.nodeId}/telemetry`, reading, { qos: 1 });
  });
  afterAll(async () => {
    await client?.endAsync();
    await pipeline?.close();
  });

  it('lists an unknown lamp once with its topic, first message and client, and counts it in no KPI', async () => {
    const topic = `city/Lixia/streetlight/${newId}/telemetry`;
    const before = await metric('citybrain_readings_rejected_total', { reason: 'unknown-node' });
    for (let i = 0; i < 3; i++) await client.publishAsync(topic, reading, { qos: 1 });
    const items = await waitFor(async () => ((await pending()).length > 0 ? pending() : undefined), 10_000, 'the lamp pending');
    expect(items).toEqual([
      {
        nodeId: newId,
        kind: 'streetlight',
        district: 'Lixia',
        topic,
        clientId: 'field-tech-7',
        payload: reading,
        firstSeen: expect.any(Number),
      },
    ]);
    // Still dead-lettered, each message: nothing of it reaches a KPI.
    expect(await metric('citybrain_readings_rejected_total', { reason: 'unknown-node' })).toBe(before + 3);
    expect((await json('/api/v1/kpis')).body.lighting.lamps).toBe(4);
  });

  it('lists a new node in a gateway batch with the gateway that carried it', async () => {
    await client.publishAsync(
      'city/gateways/GW-NEW/batch',
      JSON.stringify({ readings: [{ nodeId: 'SL-BATCH-1', kind: 'streetlight', ...JSON.parse(reading) }] }),
      { qos: 1 },
    );
    const item = await waitFor(async () => (await pending()).find((p) => p.nodeId === 'SL-BATCH-1'), 10_000, 'the batch entry pending');
    expect(item).toMatchObject({ kind: 'streetlight', gatewayId: 'GW-NEW', topic: 'city/gateways/GW-NEW/batch', clientId: 'field-tech-7' });
  });

  it('refuses an approval whose attributes are invalid for the kind, naming them, and applies nothing', async () => {
    const res = await post(`/api/v1/registry/pending/${newId}/approve`, { lat: 36.66, lon: 117.07, roadClass: 'motorway' });
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/roadClass/);
    expect((await pending()).map((p) => p.nodeId)).toContain(newId);
  });

  it('approved with its attributes, the lamp leaves the list, its readings are accepted and it counts in the lighting rate', async () => {
    // The registered lamps due on at the test's hour (half-night lamps rest).
    const due = lamps.filter((l) => !restsAtHalfNight(l.nodeId)).length;
    await kpisWhen((k) => k.lighting.expected === due, 'the registered lamps due on expected lit');
    // A lamp's attributes, without what the topic said (kind, district).
    const { nodeId: _id, kind: _kind, district: _district, ...attributes } = lamp(0);
    const res = await post(`/api/v1/registry/pending/${newId}/approve`, attributes);
    expect(res.status).toBe(201);
    expect(res.body.node).toMatchObject({ nodeId: newId, kind: 'streetlight', district: 'Lixia' });
    expect((await pending()).map((p) => p.nodeId)).toEqual(['SL-BATCH-1']);
    const accepted = await metric('citybrain_readings_accepted_total', { kind: 'streetlight' });
    await client.publishAsync(`city/Lixia/streetlight/${newId}/telemetry`, reading, { qos: 1 });
    expect(await metric('citybrain_readings_accepted_total', { kind: 'streetlight' })).toBe(accepted + 1);
    const kpis = await kpisWhen((k) => k.lighting.lamps === 5 && k.lighting.expected === due + 1, 'the approved lamp counted and due on');
    expect(kpis.lighting.lit).toBe(due + 1);
    const audit = (await json(`/api/v1/registry/audit?id=${newId}`)).body.items;
    expect(audit).toMatchObject([{ op: 'create', entity: 'node', id: newId }]);
  });

  it('a dismissed node leaves the list and cannot be approved', async () => {
    expect((await json('/api/v1/registry/pending/SL-BATCH-1', { method: 'DELETE' })).body).toEqual({ dismissed: 'SL-BATCH-1' });
    expect(await pending()).toEqual([]);
    const res = await post('/api/v1/registry/pending/SL-BATCH-1/approve', { lat: 36.66, lon: 117.07 });
    expect(res.status).toBe(404);
    expect(res.body.message).toContain('not pending');
  });
});
