import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCity } from '../core/index.js';
import { testNow } from '../test/clock.js';
import { metricValue, testConfig, waitFor } from '../test/helpers.js';
import { startPipeline, type RunningPipeline } from './pipeline.js';
import { defaultKinds } from '../core/kinds/modules.js';

/**
 * End to end over real MQTT: the embedded pipeline on ephemeral ports, a device client publishing
 * with mqtt.js, and the HTTP API read back as the operations center would.
 */
describe('embedded pipeline end to end', () => {
  let pipeline: RunningPipeline;
  let client: MqttClient;
  let api: string;
  const registry = generateCity(defaultKinds());
  const lamp = registry.ofKind('streetlight')[0]!;
  const otherLamp = registry.ofKind('streetlight')[1]!;
  const baotu = registry.ofKind('groundwater').find((w) => w.well === 'Baotu Spring')!;
  const lampTopic = `city/${lamp.district}/streetlight/${lamp.nodeId}/telemetry`;

  // Responses are checked field by field below; `any` keeps the assertions readable.
  const get = async (path: string): Promise<{ status: number; body: any }> => {
    const res = await fetch(`${api}${path}`);
    return { status: res.status, body: res.headers.get('content-type')?.includes('json') ? await res.json() : await res.text() };
  };
  const metrics = async () => (await get('/metrics')).body as string;
  const publish = (topic: string, payload: string | Buffer) => client.publishAsync(topic, payload, { qos: 1 });

  beforeAll(async () => {
    pipeline = await startPipeline({
      config: testConfig({ ALERT_HOLD_S: '0', ALERT_RESOLVE_HOLD_S: '0', EVAL_INTERVAL_MS: '200' }),
      registry,
      defaultMetrics: false,
      clock: testNow,
    });
    api = `http://127.0.0.1:${pipeline.httpPort}`;
    client = await mqtt.connectAsync(`mqtt://127.0.0.1:${pipeline.mqttPort}`, { clientId: 'e2e-device', reconnectPeriod: 0 });
  });
  afterAll(async () => {
    await client?.endAsync();
    await pipeline?.close();
  });

  it('answers /health and /ready, and lists registered lamps with their district', async () => {
    expect((await get('/health')).status).toBe(200);
    await waitFor(async () => (await get('/ready')).status === 200, 20_000, '/ready');
    const { status, body } = await get('/api/v1/nodes?kind=streetlight&limit=5');
    expect(status).toBe(200);
    expect(body.total).toBe(registry.ofKind('streetlight').length);
    expect(body.items).toHaveLength(5);
    for (const item of body.items) {
      expect(item.node.kind).toBe('streetlight');
      expect(typeof item.node.district).toBe('string');
    }
  });

  it('shows a reading published over MQTT in the node view', async () => {
    const ts = testNow();
    await publish(lampTopic, JSON.stringify({ ts, seq: 1, powerState: 'on', dim: 100, powerW: lamp.ratedW * 0.97, voltageV: 221 }));
    const view = await waitFor<any>(
      async () => {
        const { body } = await get(`/api/v1/nodes/${lamp.nodeId}`);
        return body.latest?.ts === ts ? body : undefined;
      },
      20_000,
      'reading in node view',
    );
    expect(view.latest.powerState).toBe('on');
    expect(view.health.online).toBe(true);
    expect(view.node.circuit).toBe(lamp.circuit);
  });

  it('takes a node offline on its last-will status message, and online again on its birth message', async () => {
    const statusTopic = `city/${lamp.district}/streetlight/${lamp.nodeId}/status`;
    await publish(statusTopic, 'offline');
    await waitFor(async () => (await get(`/api/v1/nodes/${lamp.nodeId}`)).body.health.online === false, 20_000, 'offline');
    await publish(statusTopic, 'online');
    await waitFor(async () => (await get(`/api/v1/nodes/${lamp.nodeId}`)).body.health.online === true, 20_000, 'online again');
    const rejectedBefore = metricValue(await metrics(), 'citybrain_readings_rejected_total', { reason: 'bad-schema' });
    await publish(statusTopic, 'sleepy');
    expect(metricValue(await metrics(), 'citybrain_readings_rejected_total', { reason: 'bad-schema' })).toBe(rejectedBefore + 1);
  });

  it('serves KPIs with every section as numbers', async () => {
    // KPIs are evaluated on a timer: wait for the evaluation that saw the reading above.
    const { status, body } = await waitFor(
      async () => {
        const res = await get('/api/v1/kpis');
        return res.body.nodes?.online >= 1 ? res : undefined;
      },
      20_000,
      'KPIs with the online lamp',
    );
    expect(status).toBe(200);
    for (const section of ['lighting', 'groundwater', 'noise', 'parking', 'nodes']) expect(body).toHaveProperty(section);
    expect(body.nodes.total).toBe(registry.size);
    expect(body.nodes.online).toBeGreaterThanOrEqual(1);
    expect(typeof body.lighting.lamps).toBe('number');
    expect(typeof body.parking.spaces).toBe('number');
    expect(typeof body.groundwater.wells).toBe('number');
    expect(typeof body.noise.stations).toBe('number');
  });

  it('unpacks a gateway batch into readings of its nodes', async () => {
    const before = metricValue(await metrics(), 'citybrain_readings_accepted_total', { kind: 'parking' });
    const spaces = registry.ofKind('parking').slice(0, 3);
    const readings = spaces.map((s, i) => ({
      nodeId: s.nodeId,
      kind: 'parking',
      ts: testNow(),
      status: i % 2 ? 'free' : 'occupied',
      batteryV: 3.3,
    }));
    await publish(`city/gateways/${spaces[0]!.gatewayId}/batch`, JSON.stringify({ readings }));
    expect(metricValue(await metrics(), 'citybrain_readings_accepted_total', { kind: 'parking' })).toBe(before + 3);
    await waitFor(
      async () => (await get(`/api/v1/nodes/${spaces[0]!.nodeId}`)).body.latest?.status === 'occupied',
      20_000,
      'batch reading',
    );
  });

  describe('rejects bad input with its own reason and keeps accepting valid readings', () => {
    const valid = () => JSON.stringify({ ts: testNow(), powerState: 'on', powerW: lamp.ratedW });
    const cases: [string, () => Promise<unknown>][] = [
      ['bad-json', () => publish(lampTopic, '{"ts": 1, powerState')],
      ['bad-schema', () => publish(lampTopic, JSON.stringify({ ts: testNow(), powerState: 'blinking' }))],
      ['unknown-node', () => publish(`city/${lamp.district}/streetlight/SL-NOPE-1/telemetry`, valid())],
      ['node-mismatch', () => publish(lampTopic, JSON.stringify({ nodeId: otherLamp.nodeId, ts: testNow(), powerState: 'on' }))],
      [
        'topic-mismatch',
        () => publish(`city/Shanghe/streetlight/${lamp.district === 'Shanghe' ? otherLamp.nodeId : lamp.nodeId}/telemetry`, valid()),
      ],
      ['too-large', () => publish(lampTopic, JSON.stringify({ ts: testNow(), powerState: 'on', pad: 'x'.repeat(20_000) }))],
      ['bad-topic', () => publish('lamps/whatever', valid())],
      ['unknown-kind', () => publish(`city/${lamp.district}/toaster/${lamp.nodeId}/telemetry`, valid())],
      ['bad-timestamp', () => publish(lampTopic, JSON.stringify({ ts: testNow() + 3_600_000, powerState: 'on' }))],
    ];
    for (const [reason, send] of cases) {
      it(reason, async () => {
        const text = await metrics();
        const rejectedBefore = metricValue(text, 'citybrain_readings_rejected_total', { reason });
        const acceptedBefore = metricValue(text, 'citybrain_readings_accepted_total', { kind: 'streetlight' });
        await publish(lampTopic, valid());
        await send();
        await publish(lampTopic, valid());
        const after = await metrics();
        expect(metricValue(after, 'citybrain_readings_rejected_total', { reason })).toBe(rejectedBefore + 1);
        expect(metricValue(after, 'citybrain_readings_accepted_total', { kind: 'streetlight' })).toBe(acceptedBefore + 2);
      });
    }

    it('a bad entry in a gateway batch rejects that entry only', async () => {
      const text = await metrics();
      const spaces = registry.ofKind('parking').slice(0, 2);
      const before = metricValue(text, 'citybrain_readings_accepted_total', { kind: 'parking' });
      const badBefore = metricValue(text, 'citybrain_readings_rejected_total', { reason: 'bad-schema' });
      const readings = [
        { nodeId: spaces[0]!.nodeId, kind: 'parking', ts: testNow(), status: 'free' },
        { nodeId: spaces[1]!.nodeId, kind: 'parking', ts: testNow(), status: 'maybe' },
      ];
      await publish(`city/gateways/${spaces[0]!.gatewayId}/batch`, JSON.stringify({ readings }));
      const after = await metrics();
      expect(metricValue(after, 'citybrain_readings_accepted_total', { kind: 'parking' })).toBe(before + 1);
      expect(metricValue(after, 'citybrain_readings_rejected_total', { reason: 'bad-schema' })).toBe(badBefore + 1);
    });

    it('the client stays connected through all of it', () => {
      expect(client.connected).toBe(true);
    });
  });

  it('counts processed readings once the processors applied them', async () => {
    const text = await metrics();
    const accepted = metricValue(text, 'citybrain_readings_accepted_total', { kind: 'streetlight' });
    await waitFor(
      async () => metricValue(await metrics(), 'citybrain_readings_processed_total', { kind: 'streetlight' }) >= accepted,
      20_000,
      'processed to catch up',
    );
  });

  it('raises an alert, lets a crew acknowledge it, and resolves it when the condition clears', async () => {
    const ts = testNow();
    // Median of the last five readings is what counts: five readings below the red line.
    for (let i = 0; i < 5; i++)
      await publish(
        `city/${baotu.district}/groundwater/${baotu.nodeId}/telemetry`,
        JSON.stringify({ ts: ts - (5 - i) * 1000, waterTableM: 27.5 }),
      );
    const alert = await waitFor<any>(
      async () => {
        const { body } = await get('/api/v1/alerts?state=firing');
        return body.items.find(
          (a: { alertname: string; labels: Record<string, string> }) =>
            a.alertname === 'GroundwaterBelowLine' && a.labels.well === 'Baotu Spring',
        );
      },
      20_000,
      'GroundwaterBelowLine',
    );
    expect(alert.labels).toMatchObject({ band: 'red', severity: 'critical', kind: 'groundwater', district: baotu.district });

    const post = (path: string, body: unknown) =>
      fetch(`${api}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post(`/api/v1/alerts/${alert.id}/ack`, { by: 'Wang Lei, crew 7', note: 'x'.repeat(1001) })).status).toBe(400);
    expect((await post(`/api/v1/alerts/${alert.id}/ack`, { by: 'Wang Lei', password: 'x' })).status).toBe(400);
    const ack = await post(`/api/v1/alerts/${alert.id}/ack`, { by: 'Wang Lei, crew 7', note: 'crew on site' });
    expect(ack.status).toBe(200);
    expect(await ack.json()).toMatchObject({
      state: 'acknowledged',
      acknowledgedBy: 'Wang Lei, crew 7',
      notes: [{ by: 'Wang Lei, crew 7', role: 'admin', action: 'ack', text: 'crew on site' }],
    });
    expect((await post(`/api/v1/alerts/${alert.id}/notes`, { by: 'Wang Lei, crew 7', note: 'part ordered' })).status).toBe(200);
    expect((await post(`/api/v1/alerts/${alert.id}/notes`, { note: 'who?' })).status).toBe(400);
    expect((await post('/api/v1/alerts/0123456789abcdef/notes', { by: 'x', note: 'y' })).status).toBe(404);
    const listed = (await get('/api/v1/alerts?state=acknowledged')).body.items.find((a: { id: string }) => a.id === alert.id);
    expect(listed.notes.map((n: { action: string; text: string }) => `${n.action}: ${n.text}`)).toEqual([
      'ack: crew on site',
      'note: part ordered',
    ]);
    expect((await get('/api/v1/alerts?state=acknowledged')).body.items.map((a: { id: string }) => a.id)).toContain(alert.id);
    expect(metricValue(await metrics(), 'citybrain_alerts_firing', { alertname: 'GroundwaterBelowLine' })).toBeGreaterThanOrEqual(1);

    for (let i = 0; i < 5; i++)
      await publish(
        `city/${baotu.district}/groundwater/${baotu.nodeId}/telemetry`,
        JSON.stringify({ ts: ts + (i + 1) * 1000, waterTableM: 28.6 }),
      );
    await waitFor(
      async () => (await get('/api/v1/alerts?state=resolved')).body.items.some((a: { id: string }) => a.id === alert.id),
      20_000,
      'resolved',
    );
  });

  it('answers bad API requests with a clear 400 / 404 and no internals', async () => {
    const bad = await get('/api/v1/nodes?limit=abc');
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/limit/);
    expect(bad.body.stack).toBeUndefined();
    expect((await get('/api/v1/nodes?kind=toaster')).status).toBe(400);
    expect((await get('/api/v1/alerts?state=sleeping')).status).toBe(400);
    expect((await get('/api/v1/nodes/SL-NOPE-1')).status).toBe(404);
    expect((await fetch(`${api}/api/v1/alerts/0123456789abcdef/ack`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${api}/api/v1/alerts/not-an-id/ack`, { method: 'POST' })).status).toBe(400);
    expect((await get('/nope')).status).toBe(404);
  });

  it('publishes OpenAPI docs at /docs', async () => {
    expect((await get('/docs')).status).toBe(200);
    const spec = (await get('/docs/json')).body;
    for (const path of [
      '/api/v1/kpis',
      '/api/v1/nodes',
      '/api/v1/nodes/{id}',
      '/api/v1/alerts',
      '/api/v1/alerts/{id}/ack',
      '/api/v1/stream',
      '/health',
      '/ready',
      '/metrics',
    ]) {
      expect(Object.keys(spec.paths)).toContain(path);
    }
  });

  it('streams KPI events over server-sent events', async () => {
    const controller = new AbortController();
    const res = await fetch(`${api}/api/v1/stream`, { signal: controller.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('event: kpis')) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    expect(text).toContain('"type":"kpis"');
  });
});
