import { setTimeout as sleep } from 'node:timers/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { Aedes } from 'aedes';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCity, localHour } from '../core/index.js';
import { lampsScheduledOn } from '../core/kinds/streetlight/model.js';
import { nightStart, startSimulation } from './publisher.js';
import { testNow } from '../test/clock.js';
import { defaultKinds } from '../core/kinds/modules.js';

let broker: Aedes;
let server: Server;
let url: string;

beforeAll(async () => {
  broker = await Aedes.createBroker();
  server = createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => broker.close(() => resolve()));
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('publishing over MQTT', () => {
  it('publishes gateway batches and direct telemetry on the contract topics', async () => {
    const registry = generateCity(defaultKinds(), { lamps: 80, parkingSpaces: 40, noiseStations: 6, wells: 3, seed: 11 });
    const sub: MqttClient = await connectAsync(url, { clientId: 'sim-test-sub', clean: true });
    const received: { topic: string; payload: Buffer }[] = [];
    sub.on('message', (topic, payload) => received.push({ topic, payload }));
    await sub.subscribeAsync('city/#', { qos: 1 });

    const sim = await startSimulation({
      url,
      registry,
      scenario: 'normal',
      seed: 5,
      speed: 120,
      start: nightStart(testNow()),
      qos: 1,
      connections: 2,
      warmupS: 10,
      gatewayFlushMs: 200,
    });
    await sleep(2_000);
    await sim.stop();
    await sleep(200);
    await sub.endAsync();

    const stats = sim.stats();
    expect(stats.errors).toBe(0);
    expect(stats.nodes).toBe(registry.size);
    expect(stats.batches).toBeGreaterThan(0);
    expect(stats.direct).toBeGreaterThan(0);

    const batchTopic = /^city\/gateways\/([A-Za-z0-9._:-]+)\/batch$/;
    const telemetryTopic = /^city\/([A-Za-z0-9 ._-]+)\/([a-z]+)\/([A-Za-z0-9._:-]+)\/telemetry$/;
    let batchReadings = 0;
    let direct = 0;
    const seen = new Set<string>();
    for (const { topic, payload } of received) {
      const body = JSON.parse(payload.toString('utf8'));
      const b = batchTopic.exec(topic);
      if (b) {
        expect(Array.isArray(body.readings)).toBe(true);
        for (const entry of body.readings) {
          const node = registry.get(entry.nodeId)!;
          expect(node).toBeDefined();
          expect(node.gatewayId).toBe(b[1]);
          expect(entry.kind).toBe(node.kind);
          const { nodeId: _n, kind: _k, ...fields } = entry;
          expect(registry.kinds.get(node.kind)!.reading.safeParse(fields).success).toBe(true);
          seen.add(node.nodeId);
          batchReadings++;
        }
        continue;
      }
      const t = telemetryTopic.exec(topic);
      expect(t, topic).not.toBeNull();
      const [, district, kind, nodeId] = t!;
      const node = registry.get(nodeId!)!;
      expect(node.gatewayId).toBeUndefined();
      expect(node.district).toBe(district);
      expect(node.kind).toBe(kind);
      expect(registry.kinds.get(node.kind)!.reading.safeParse(body).success).toBe(true);
      seen.add(node.nodeId);
      direct++;
    }
    expect(batchReadings).toBe(stats.readings - stats.direct);
    expect(direct).toBe(stats.direct);
    // Every node reported at least once (boot within the warm-up).
    expect(seen.size).toBe(registry.size);
  });

  it('rejects clearly when the broker cannot be reached', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const registry = generateCity(defaultKinds(), { lamps: 10, parkingSpaces: 5, noiseStations: 1, wells: 1 });
    await expect(startSimulation({ url: `mqtt://127.0.0.1:${port}`, registry, connectTimeoutMs: 2_000 })).rejects.toThrow(
      /cannot connect to mqtt:\/\/127\.0\.0\.1/,
    );
  });
});

describe('nightStart', () => {
  it('is now at night, otherwise a past time when lamps are on', () => {
    const night = Date.parse('2026-03-09T15:30:00Z'); // 23:30 local
    expect(nightStart(night)).toBe(night);
    const noon = Date.parse('2026-03-10T04:00:00Z'); // 12:00 local
    const s = nightStart(noon);
    expect(s).toBeLessThan(noon);
    expect(lampsScheduledOn(s)).toBe(true);
    expect(localHour(s)).toBe(22);
    // Just before dawn: go back to the evening so the night lasts.
    const dawn = Date.parse('2026-06-20T20:30:00Z'); // 04:30 local, sunrise about 04:50
    expect(lampsScheduledOn(nightStart(dawn))).toBe(true);
    expect(nightStart(dawn)).toBeLessThan(dawn);
    for (let h = 0; h < 48; h++) {
      const now = Date.parse('2026-07-01T00:00:00Z') + h * 3_600_000;
      const s2 = nightStart(now);
      expect(s2).toBeLessThanOrEqual(now);
      expect(lampsScheduledOn(s2)).toBe(true);
      expect(lampsScheduledOn(s2 + 2 * 3_600_000 - 1)).toBe(true);
    }
  });
});
