/**
 * MQTT 5 with mqtt.js against the embedded pipeline (authentication off: these tests publish where
 * an authenticated device could not, to reach every rejection; `unauthorized` is covered with
 * authentication in ./mosquitto-clients.test.ts).
 */
import mqtt, { type IClientOptions, type IConnackPacket, type MqttClient, type Packet } from 'mqtt';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPipeline, type RunningPipeline } from '../bin/pipeline.js';
import { generateCity } from '../core/index.js';
import { defaultKinds } from '../core/kinds/modules.js';
import { testNow } from '../test/clock.js';
import { testConfig, waitFor } from '../test/helpers.js';
import { REJECTION_CODES, type IngestRejectReason } from './reason-codes.js';

describe('MQTT 5 on the embedded broker (mqtt.js)', () => {
  const registry = generateCity(defaultKinds());
  const well = registry.ofKind('groundwater').find((w) => !w.gatewayId)!;
  const space = registry.ofKind('parking')[0]!;
  const wellTopic = `city/${well.district}/groundwater/${well.nodeId}/telemetry`;
  const reading = (extra: object = {}) => JSON.stringify({ ts: testNow(), waterTableM: 28.5, ...extra });
  let pipeline: RunningPipeline;
  const clients: MqttClient[] = [];
  /** An MQTT 5 client, connected, with the CONNACK it got. */
  const connected = (options: IClientOptions = {}) =>
    new Promise<{ c: MqttClient; connack: IConnackPacket }>((resolve, reject) => {
      const c = mqtt.connect(`mqtt://127.0.0.1:${pipeline.mqttPort}`, { protocolVersion: 5, reconnectPeriod: 0, ...options });
      clients.push(c);
      c.once('connect', (connack) => resolve({ c, connack }));
      c.once('error', reject);
    });
  const connect = async (options: IClientOptions = {}) => (await connected(options)).c;
  /** Every acknowledgement the client receives. */
  const acks = (c: MqttClient) => {
    const got: Packet[] = [];
    c.on('packetreceive', (p) => (p.cmd === 'puback' || p.cmd === 'pubrec' || p.cmd === 'pubcomp') && got.push(p));
    return got;
  };
  /** Publishes and resolves with the PUBACK / PUBREC that answered it (never throws on a failure code). */
  const answer = (c: MqttClient, got: Packet[], topic: string, payload: string, qos: 1 | 2 = 1) =>
    new Promise<Packet & { reasonCode?: number; properties?: { reasonString?: string } }>((resolve) => {
      const before = got.length;
      c.publish(topic, payload, { qos }, () => resolve(got[before]!));
    });

  beforeAll(async () => {
    pipeline = await startPipeline({
      config: testConfig({ EVAL_INTERVAL_MS: '200', MAX_PAYLOAD_BYTES: '1024', MQTT_KEEPALIVE_MAX_S: '30' }),
      registry,
      logger: pino({ level: 'silent' }),
      clock: testNow,
    });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => undefined)));
  });
  afterAll(async () => pipeline?.close());

  it('refuses each rejected publish with the reason code and reason string of its dead-letter reason', async () => {
    const c = await connect({ clientId: 'v5-reasons' });
    const got = acks(c);
    const cases: [IngestRejectReason, string, string][] = [
      ['bad-topic', 'devices/x', reading()],
      ['unknown-kind', `city/${well.district}/volcano/${well.nodeId}/telemetry`, reading()],
      ['unknown-node', `city/${well.district}/groundwater/GW-NOBODY/telemetry`, reading()],
      ['bad-json', wellTopic, '{"ts":'],
      ['bad-schema', wellTopic, JSON.stringify({ ts: testNow(), waterTableM: 'deep' })],
      ['bad-timestamp', wellTopic, reading({ ts: Date.now() + 86_400_000 })],
      ['too-large', wellTopic, reading({ pad: 'x'.repeat(2000) })],
      ['topic-mismatch', `city/Elsewhere/groundwater/${well.nodeId}/telemetry`, reading()],
      ['node-mismatch', wellTopic, reading({ nodeId: registry.ofKind('groundwater')[1]!.nodeId })],
    ];
    for (const [reason, topic, payload] of cases)
      for (const qos of [1, 2] as const) {
        const ack = await answer(c, got, topic, payload, qos);
        expect([reason, qos, ack.cmd, ack.reasonCode, ack.properties?.reasonString]).toEqual([
          reason,
          qos,
          qos === 1 ? 'puback' : 'pubrec',
          REJECTION_CODES[reason].code,
          `${reason}: ${REJECTION_CODES[reason].text}`,
        ]);
      }
    // A good reading after all that: success, on the same connection.
    expect((await answer(c, got, wellTopic, reading())).reasonCode).toBe(0);
    expect(c.connected).toBe(true);
  });

  it('sends no reason string to a client that asked for none (Request Problem Information 0)', async () => {
    const c = await connect({ clientId: 'v5-quiet', properties: { requestProblemInformation: false } });
    const got = acks(c);
    const ack = await answer(c, got, wellTopic, '{"ts":');
    expect(ack.reasonCode).toBe(0x99);
    expect(ack.properties?.reasonString).toBeUndefined();
  });

  it('a batch is refused only when none of its entries is accepted, with the code of its first rejection', async () => {
    const c = await connect({ clientId: 'v5-batch' });
    const got = acks(c);
    const topic = `city/gateways/${space.gatewayId}/batch`;
    const entry = (status: unknown) => ({ nodeId: space.nodeId, kind: 'parking', ts: testNow(), status });
    const partly = await answer(c, got, topic, JSON.stringify({ readings: [entry('free'), entry('maybe')] }));
    expect(partly.reasonCode).toBe(0);
    const none = await answer(
      c,
      got,
      topic,
      JSON.stringify({ readings: [entry('maybe'), { nodeId: 'GW-NOBODY', kind: 'parking', ts: 1 }] }),
    );
    expect(none.reasonCode).toBe(REJECTION_CODES['bad-schema'].code);
  });

  it('a rejected publish is not forwarded to subscribers in MQTT 5 either', async () => {
    const watcher = await connect({ clientId: 'v5-watcher' });
    const seen: string[] = [];
    watcher.on('message', (_t, payload) => seen.push(payload.toString()));
    await watcher.subscribeAsync(wellTopic, { qos: 1 });
    const c = await connect({ clientId: 'v5-sender' });
    const got = acks(c);
    await answer(c, got, wellTopic, '{"ts":');
    const good = reading({ tempC: 12 });
    await answer(c, got, wellTopic, good);
    await waitFor(() => seen.includes(good), 5000, 'the good reading forwarded');
    expect(seen).toEqual([good]);
  });

  it('announces Server Keep Alive = MQTT_KEEPALIVE_MAX_S to a client asking for none or more (3.1.1 would be refused)', async () => {
    for (const keepalive of [0, 600]) {
      const { connack } = await connected({ clientId: `v5-keepalive-${keepalive}`, keepalive });
      expect(connack.properties?.serverKeepAlive).toBe(30);
    }
    // mqtt.js obeys it (it would ping every 600 s, now every 30 s).
    expect(clients[1]!.keepalive).toBe(30);
    const inRange = await connected({ clientId: 'v5-keepalive-20', keepalive: 20 });
    expect(inRange.connack.properties?.serverKeepAlive).toBeUndefined();
    expect(inRange.c.keepalive).toBe(20);
  });
});
