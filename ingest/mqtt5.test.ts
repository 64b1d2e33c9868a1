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
import { metricValue, testConfig, waitFor } from '../test/helpers.js';
import { encodeLength, publishPacket, pubrelPacket, RawConnection } from '../test/mqtt-raw.js';
import { REJECTION_CODES, type IngestRejectReason } from './reason-codes.js';

describe('MQTT 5 on the embedded broker (mqtt.js)', () => {
  const registry = generateCity(defaultKinds());
  const well = registry.ofKind('groundwater').find((w) => !w.gatewayId)!;
  const space = registry.ofKind('parking')[0]!;
  const wellTopic = `city/${well.district}/groundwater/${well.nodeId}/telemetry`;
  const reading = (extra: object = {}) => JSON.stringify({ ts: testNow(), waterTableM: 28.5, ...extra });
  let pipeline: RunningPipeline;
  const metrics = async () => (await fetch(`http://127.0.0.1:${pipeline.httpPort}/metrics`)).text();
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
      config: testConfig({
        EVAL_INTERVAL_MS: '200',
        MAX_PAYLOAD_BYTES: '1024',
        MQTT_KEEPALIVE_MAX_S: '30',
        MQTT_RECEIVE_MAXIMUM: '4',
        MQTT_SESSION_EXPIRY_MAX_S: '1',
        MQTT_SESSION_QUEUE_MAX: '3',
        MQTT_MAX_PACKET_BYTES: '4096',
        MAX_BATCH_BYTES: '2048',
      }),
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

  it("a publish to the broker's own $SYS/ topics: MQTT 5 gets 0x87 and stays connected, 3.1.1 is disconnected; no dead letter", async () => {
    const deadLetters = async () =>
      (await metrics())
        .split('\n')
        .filter((l) => l.startsWith('citybrain_readings_rejected_total{'))
        .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    const before = await deadLetters();
    const c = await connect({ clientId: 'v5-sys' });
    const got = acks(c);
    const ack = await answer(c, got, '$SYS/broker/fake', 'x');
    expect([ack.reasonCode, ack.properties?.reasonString]).toEqual([0x87, '$SYS/ topics are reserved']);
    expect(c.connected).toBe(true);
    const v311 = await connect({ clientId: 'v311-sys', protocolVersion: 4, keepalive: 20 });
    const closed = new Promise<void>((resolve) => v311.once('close', () => resolve()));
    v311.publish('$SYS/broker/fake', 'x', { qos: 1 });
    await closed;
    expect(await deadLetters()).toBe(before);
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

  it('keeps a session for its Session Expiry Interval, at most MQTT_SESSION_EXPIRY_MAX_S (told in the CONNACK), then ends it', async () => {
    const expired = async () => metricValue(await metrics(), 'citybrain_mqtt_sessions_expired_total');
    const session = { clientId: 'v5-session', clean: false, properties: { sessionExpiryInterval: 0xffffffff } };
    const first = await connected(session);
    expect(first.connack.properties?.sessionExpiryInterval).toBe(1); // "never" asked, 1 s granted
    await first.c.subscribeAsync(wellTopic, { qos: 1 });
    await first.c.endAsync();
    const publisher = await connect({ clientId: 'v5-session-publisher' });
    /** A reading the session receives (or not), and what it got on its latest connection. */
    const send = async (tempC: number) => {
      const payload = reading({ tempC });
      await publisher.publishAsync(wellTopic, payload, { qos: 1 });
      return payload;
    };
    const reconnect = async () => {
      const got: string[] = [];
      const { c, connack } = await connected({ ...session, properties: { sessionExpiryInterval: 1 } });
      c.on('message', (_t, p) => got.push(p.toString()));
      return { c, connack, got };
    };

    // Back within the interval: the session is there, with what was published meanwhile, its queue
    // bounded as any persistent session's (MQTT_SESSION_QUEUE_MAX 3: the oldest 2 of 5 dropped).
    const dropped = async () => metricValue(await metrics(), 'citybrain_limit_hits_total', { limit: 'MQTT_SESSION_QUEUE_MAX' });
    const droppedBefore = await dropped();
    const whileAway: string[] = [];
    for (let i = 1; i <= 5; i++) whileAway.push(await send(i));
    const back = await reconnect();
    expect(back.connack.sessionPresent).toBe(true);
    await waitFor(() => back.got.length === 3, 5000, 'the queued readings');
    expect(back.got).toEqual(whileAway.slice(2));
    expect(await dropped()).toBe(droppedBefore + 2);
    const before = await expired();
    await back.c.endAsync();

    // Away longer: the broker ends it (counted), and what was published after is not kept for it.
    await waitFor(async () => (await expired()) === before + 1, 10_000, 'the session expired');
    const afterExpiry = await send(6);
    const fresh = await reconnect();
    expect(fresh.connack.sessionPresent).toBe(false);
    await fresh.c.subscribeAsync(wellTopic, { qos: 1 });
    const live = await send(7);
    await waitFor(() => fresh.got.includes(live), 5000, 'a live reading');
    expect(fresh.got).toEqual([live]); // a queued one would have come first
    expect(fresh.got).not.toContain(afterExpiry);
  });

  it('announces no topic aliases (Topic Alias Maximum absent = 0); a client sending one anyway is disconnected with 0x94', async () => {
    const { connack } = await connected({ clientId: 'v5-alias-connack' });
    expect(connack.properties?.topicAliasMaximum).toBeUndefined();
    const raw = await RawConnection.open(pipeline.mqttPort);
    expect(await raw.connect({ clientId: 'v5-alias', version: 5 })).toBe(0);
    raw.send(publishPacket({ topic: wellTopic, payload: reading(), qos: 1, id: 1, version: 5, topicAlias: 1 }));
    expect((await raw.next(14, 'DISCONNECT')).body[0]).toBe(0x94);
    await waitFor(() => raw.closed, 5000, 'the connection closed');
    expect(raw.all(4)).toEqual([]); // no PUBACK: the publish was not taken
  });

  it('a packet announced over the Maximum Packet Size: MQTT 5 gets DISCONNECT 0x95 before the close, 3.1.1 just the close', async () => {
    const refused = async () => metricValue(await metrics(), 'citybrain_mqtt_refused_total', { cause: 'packet-too-large' });
    const before = await refused();
    // A PUBLISH header announcing 10,000 bytes (MQTT_MAX_PACKET_BYTES is 4096) and the start of its body.
    const oversized = Buffer.concat([Buffer.from([0x32]), encodeLength(10_000), Buffer.alloc(100, 0x20)]);
    for (const version of [5, 4] as const) {
      const raw = await RawConnection.open(pipeline.mqttPort);
      expect(await raw.connect({ clientId: `too-large-v${version}`, version, keepalive: 20 })).toBe(0);
      raw.send(oversized);
      await waitFor(() => raw.closed, 5000, 'the connection closed');
      expect(raw.all(14).map((p) => p.body[0])).toEqual(version === 5 ? [0x95] : []);
    }
    expect(await refused()).toBe(before + 2);
  });

  describe('Receive Maximum', () => {
    const PUBACK = 4;
    const PUBREC = 5;
    const PUBCOMP = 7;
    const DISCONNECT = 14;
    /** Several v5 publishes in one write: the broker reads them together, before it answers any. */
    const burst = (qos: 1 | 2, ids: number[]) =>
      Buffer.concat(ids.map((id) => publishPacket({ topic: wellTopic, payload: reading({ tempC: id }), qos, id, version: 5 })));
    const device = async (clientId: string) => {
      const raw = await RawConnection.open(pipeline.mqttPort);
      expect(await raw.connect({ clientId, version: 5 })).toBe(0);
      return raw;
    };
    const hits = async () => metricValue(await metrics(), 'citybrain_limit_hits_total', { limit: 'MQTT_RECEIVE_MAXIMUM' });

    it('announces Receive Maximum and Maximum Packet Size in the CONNACK', async () => {
      const { connack } = await connected({ clientId: 'v5-limits' });
      expect(connack.properties?.receiveMaximum).toBe(4);
      // MQTT_MAX_PACKET_BYTES counts the remaining length; the whole packet adds its 3-byte fixed header.
      expect(connack.properties?.maximumPacketSize).toBe(4096 + 3);
    });

    it('answers as many QoS 1 publishes at once as announced; one more disconnects the client with 0x93', async () => {
      const before = await hits();
      const ok = await device('v5-window-ok');
      ok.send(burst(1, [1, 2, 3, 4]));
      await waitFor(() => ok.all(PUBACK).length === 4, 10_000, '4 PUBACKs');
      ok.send(burst(1, [5, 6, 7, 8])); // answered: the window is free again
      await waitFor(() => ok.all(PUBACK).length === 8, 10_000, '8 PUBACKs');
      expect(ok.closed).toBe(false);
      ok.close();

      const over = await device('v5-window-over');
      over.send(burst(1, [1, 2, 3, 4, 5]));
      const disconnect = await over.next(DISCONNECT, 'DISCONNECT');
      expect(disconnect.body[0]).toBe(0x93);
      await waitFor(() => over.closed, 10_000, 'the connection closed');
      expect(await hits()).toBe(before + 1);
    });

    it('a QoS 2 publish holds its slot until its PUBREL', async () => {
      const held = await device('v5-window-qos2');
      held.send(burst(2, [1, 2, 3, 4]));
      await waitFor(() => held.all(PUBREC).length === 4, 10_000, '4 PUBRECs');
      // No PUBREL yet: all four slots are taken.
      held.send(burst(1, [5]));
      expect((await held.next(DISCONNECT, 'DISCONNECT')).body[0]).toBe(0x93);

      const released = await device('v5-window-qos2-released');
      released.send(burst(2, [1, 2, 3, 4]));
      await waitFor(() => released.all(PUBREC).length === 4, 10_000, '4 PUBRECs');
      released.send(Buffer.concat([1, 2, 3, 4].map(pubrelPacket)));
      await waitFor(() => released.all(PUBCOMP).length === 4, 10_000, '4 PUBCOMPs');
      released.send(burst(1, [5, 6, 7, 8]));
      await waitFor(() => released.all(PUBACK).length === 4, 10_000, '4 PUBACKs after the PUBRELs');
      expect(released.closed).toBe(false);
      released.close();
    });

    it('a refused publish frees its slot at once: QoS 1 with its PUBACK, QoS 2 with its failure PUBREC', async () => {
      const c = await device('v5-window-refused');
      const bad = (qos: 1 | 2, id: number) => publishPacket({ topic: wellTopic, payload: '{', qos, id, version: 5 });
      c.send(Buffer.concat([bad(2, 1), bad(2, 2), bad(1, 3), bad(1, 4)]));
      await waitFor(() => c.all(PUBREC).length === 2 && c.all(PUBACK).length === 2, 10_000, 'the refusals');
      c.send(burst(1, [5, 6, 7, 8]));
      await waitFor(() => c.all(PUBACK).length === 6, 10_000, '4 more PUBACKs');
      expect(c.closed).toBe(false);
      c.close();
    });
  });
});
