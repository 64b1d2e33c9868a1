import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { restsAtHalfNight } from '../core/index.js';
import { testNow } from '../test/clock.js';
import { metricValue, waitFor } from '../test/helpers.js';
import { runDemo } from './demo.js';
import { demoTestConfig } from '../test/demo-config.js';

const ADMIN = 'admin-token-registry-demo-0001';
const ROAD = 'Registry Test Road';
const GATEWAY = 'GW-RTR-01';
const LAMPS = 1000;

/**
 * The registry managed while `npm run demo` runs, over HTTP and MQTT as an operations team would:
 * 1,000 lamps of a new road imported with their gateway and its credentials are accepted at once
 * and counted in the lighting rate; a parking lot decommissioned leaves the parking KPIs; a device
 * whose credentials are revoked is cut off and refused; every other reading keeps flowing.
 */
describe('registry changes while the demo runs', () => {
  let demo: Awaited<ReturnType<typeof runDemo>> | undefined;
  afterAll(async () => demo?.close());
  let api = '';
  const call = async (method: string, path: string, body?: string, type = 'application/json') => {
    const res = await fetch(`${api}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, ...(body !== undefined ? { 'content-type': type } : {}) },
      ...(body !== undefined ? { body } : {}),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  const kpis = async () => (await call('GET', '/api/v1/kpis')).body;
  const metrics = async () => (await fetch(`${api}/metrics`)).text();
  const sum = (text: string, name: string) =>
    text
      .split('\n')
      .filter((l) => l.startsWith(`${name}{`))
      .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);

  it('imports a new road of 1,000 lamps with its gateway and credentials; its readings are accepted at once and counted', async () => {
    demo = await runDemo(demoTestConfig({ API_TOKENS: `admin:${ADMIN}` }), testNow);
    api = `http://127.0.0.1:${demo.pipeline.httpPort}`;
    // Every demo lamp judged (none unknown): the expected count is then the lamps due on.
    const before = await waitFor(
      async () => {
        const k = await kpis();
        return k.lighting?.scheduledOn && k.lighting.unknown === 0 && k.lighting.expected > 0 ? k : undefined;
      },
      60_000,
      'every demo lamp judged',
    );
    const lamps = Array.from({ length: LAMPS }, (_, i) => `SL-RTR-${String(i).padStart(4, '0')}`);
    const csv = [
      'nodeId,kind,district,lat,lon,gatewayId,road,roadClass,circuit,ratedW',
      `,gateway,Lixia,36.68,117.05,${GATEWAY},,,,`,
      ...lamps.map((id, i) => `${id},streetlight,Lixia,${36.68 + i * 1e-5},117.05,${GATEWAY},${ROAD},main,RTR-C${Math.floor(i / 50)},150`),
    ].join('\n');
    const imported = await call('POST', '/api/v1/registry/import?credentials=true', csv, 'text/csv');
    expect(imported.status).toBe(200);
    expect(imported.body).toMatchObject({ created: LAMPS + 1, errors: [] });
    const [credentials] = imported.body.credentials as { username: string; password: string }[];
    expect(credentials).toMatchObject({ username: GATEWAY });

    // The answer means every stage has the change: the gateway logs in and its readings are accepted, no wait.
    const gateway = await mqtt.connectAsync(`mqtt://127.0.0.1:${demo.pipeline.mqttPort}`, {
      clientId: GATEWAY,
      username: GATEWAY,
      password: credentials!.password,
      reconnectPeriod: 0,
    });
    for (let i = 0; i < LAMPS; i += 250) {
      const readings = lamps
        .slice(i, i + 250)
        .map((nodeId) => ({ nodeId, kind: 'streetlight', ts: testNow(), powerState: 'on', dim: 100, powerW: 146, voltageV: 221 }));
      await gateway.publishAsync(`city/gateways/${GATEWAY}/batch`, JSON.stringify({ readings }), { qos: 1 });
    }
    await gateway.endAsync();
    // Lamps due on: all of them, or at half-night those not resting (the demo's clock may pass into half-night meanwhile).
    const dueOf = (ids: readonly string[], halfNight: boolean) => ids.filter((id) => !halfNight || !restsAtHalfNight(id)).length;
    const demoLamps = demo.pipeline.registry.ofKind('streetlight').flatMap((l) => (l.road === ROAD ? [] : [l.nodeId]));
    const after = await waitFor(
      async () => {
        const k = await kpis();
        const due = dueOf(demoLamps, k.lighting.halfNight) + dueOf(lamps, k.lighting.halfNight);
        return k.lighting.unknown === 0 && k.lighting.expected === due ? k : undefined;
      },
      30_000,
      'the lighting rate expecting the new lamps due on',
    );
    expect(after.lighting.expected - dueOf(demoLamps, after.lighting.halfNight)).toBe(dueOf(lamps, after.lighting.halfNight));
    expect(after.lighting.expected + after.lighting.resting).toBe(before.lighting.expected + before.lighting.resting + LAMPS);
    expect(after.lighting.lamps).toBe(before.lighting.lamps + LAMPS);
    const view = await call('GET', `/api/v1/nodes/${lamps[LAMPS - 1]}`);
    expect(view.body.latest).toMatchObject({ powerState: 'on' });
  }, 150_000);

  it('decommissioning a parking lot removes its spaces from the parking KPIs', async () => {
    const spaces = demo!.pipeline.registry.ofKind('parking');
    const lot = spaces[0]!.lotId;
    const ofLot = spaces.filter((s) => s.lotId === lot);
    const before = await kpis();
    for (const s of ofLot) expect((await call('DELETE', `/api/v1/nodes/${s.nodeId}`)).status).toBe(200);
    const after = await waitFor(
      async () => {
        const k = await kpis();
        return k.parking.lots === before.parking.lots - 1 ? k : undefined;
      },
      30_000,
      'the lot gone from the parking KPIs',
    );
    expect(after.parking.spaces).toBe(before.parking.spaces - ofLot[0]!.spaces);
    expect(after.parking.list.map((l: { lotId: string }) => l.lotId)).not.toContain(lot);
    expect((await call('DELETE', `/api/v1/nodes/${ofLot[0]!.nodeId}`)).status).toBe(404);
  }, 60_000);

  it("revoking a device's credentials closes its session and refuses it after", async () => {
    const station = { nodeId: 'NS-RTR-1', kind: 'noise', district: 'Lixia', lat: 36.67, lon: 117.03, station: 'Test', zoneClass: '2' };
    const created = await call('POST', '/api/v1/nodes?credentials=true', JSON.stringify(station));
    expect(created.status).toBe(201);
    const { password } = created.body.credentials as { password: string };
    const url = `mqtt://127.0.0.1:${demo!.pipeline.mqttPort}`;
    const options = { clientId: station.nodeId, username: station.nodeId, password, reconnectPeriod: 0 };
    const device = await mqtt.connectAsync(url, options);
    let closed = false;
    device.on('close', () => (closed = true));
    const reading = { ts: testNow(), laeq: 55, lamax: 60, lamin: 50, l10: 57, l50: 55, l90: 51 };
    await device.publishAsync(`city/Lixia/noise/${station.nodeId}/telemetry`, JSON.stringify(reading), { qos: 1 });
    await waitFor(async () => (await call('GET', `/api/v1/nodes/${station.nodeId}`)).body.latest?.laeq === 55, 10_000, 'its reading');
    expect((await call('DELETE', `/api/v1/nodes/${station.nodeId}/credentials`)).status).toBe(200);
    await waitFor(() => closed, 5_000, 'the revoked session closed');
    await expect(mqtt.connectAsync(url, options)).rejects.toThrow(/Not authorized|Bad username or password/i);
  }, 60_000);

  it('every accepted reading is processed (accepted = processed + rejected late)', async () => {
    await demo!.simulation.stop();
    const text = await waitFor(
      async () => {
        const m = await metrics();
        const accepted = sum(m, 'citybrain_readings_accepted_total');
        return accepted > 0 &&
          accepted ===
            sum(m, 'citybrain_readings_processed_total') + metricValue(m, 'citybrain_readings_rejected_total', { reason: 'late' })
          ? m
          : undefined;
      },
      30_000,
      'accepted = processed + late',
    );
    expect(sum(text, 'citybrain_readings_processed_total')).toBeGreaterThan(LAMPS);
  }, 60_000);
});
