import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as connectTls } from 'node:tls';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { generateCity, MemoryTransport, PipelineMetrics, TOPICS, topicSpecs } from '../core/index.js';
import { TEST_START } from '../test/clock.js';
import { metricValue, waitFor } from '../test/helpers.js';
import { selfSignedCert } from '../test/tls.js';
import { RawConnection } from '../test/mqtt-raw.js';
import { TelemetryBridge } from './bridge.js';
import { startBroker, type BrokerOptions, type RunningBroker } from './broker.js';
import { defaultKinds } from '../core/kinds/modules.js';

/**
 * Backpressure through a real in-process log whose only consumer is stalled: acknowledgements
 * wait for the append, past the bound publishes are refused unacknowledged, and nothing
 * acknowledged is lost.
 */
describe('ingest backpressure', () => {
  let broker: RunningBroker | undefined;
  afterEach(async () => broker?.close());

  async function setup(maxLag: number, maxInflight: number) {
    const transport = new MemoryTransport({ maxLag });
    await transport.ensureTopics(topicSpecs(defaultKinds(), 1));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const consumed: string[] = [];
    await transport.consume({
      groupId: 'stalled',
      topics: [TOPICS.raw],
      onBatch: async (b) => {
        await gate;
        consumed.push(...b.records.map((r) => r.value.toString()));
      },
    });
    let metrics: PipelineMetrics;
    ({ broker, metrics } = await brokerOnMemoryLog({ maxInflight }, transport));
    // Records the log has taken so far (offsets only grow, trimming does not lower them).
    const appended = () => transport.topic(TOPICS.raw).reduce((n, log) => n + log.end, 0);
    return { registry: generateCity(defaultKinds()), metrics, consumed, release, appended };
  }

  it('acknowledges QoS 1 only after the log holds the reading', async () => {
    const { registry, metrics, consumed, release, appended } = await setup(3, 100);
    const lamp = registry.ofKind('streetlight')[0]!;
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker!.port}`, { reconnectPeriod: 0 });
    let acked = 0;
    // At every PUBACK, how many records the log held: never fewer than the publishes acknowledged.
    const heldAtAck: Array<{ acked: number; held: number }> = [];
    const sends = Array.from({ length: 12 }, (_, i) =>
      client
        .publishAsync(
          `city/${lamp.district}/streetlight/${lamp.nodeId}/telemetry`,
          JSON.stringify({ ts: TEST_START + i, powerState: 'on' }),
          { qos: 1 },
        )
        .then(() => heldAtAck.push({ acked: ++acked, held: appended() })),
    );
    await waitFor(
      async () => metricValue(await metrics.registry.metrics(), 'citybrain_ingest_inflight') >= 9,
      5000,
      'appends waiting for the log',
    );
    expect(appended()).toBe(3); // the log takes maxLag records while its reader is stalled
    expect(acked).toBeLessThanOrEqual(3);
    release();
    await Promise.all(sends);
    expect(acked).toBe(12);
    for (const at of heldAtAck) expect(at.held, `PUBACK #${at.acked} with ${at.held} records in the log`).toBeGreaterThanOrEqual(at.acked);
    await waitFor(() => consumed.length === 12, 5000, 'all consumed');
    await client.endAsync();
  });

  for (const protocolVersion of [4, 5] as const)
    it(`refuses publishes past the bound without acknowledging them, and counts them (MQTT ${protocolVersion === 4 ? '3.1.1' : '5: DISCONNECT 0x89, no reason code on a PUBACK'})`, async () => {
      const { registry, metrics, consumed, release, appended } = await setup(1, 4);
      const lamps = registry.ofKind('streetlight').slice(0, 8);
      // One client per lamp: each waits on its own append, so the waiting publishes add up across clients.
      const clients = await Promise.all(
        lamps.map(() => mqtt.connectAsync(`mqtt://127.0.0.1:${broker!.port}`, { reconnectPeriod: 0, protocolVersion })),
      );
      // Per publish: acknowledged (PUBACK), or its connection closed by the broker without one.
      const acknowledged = lamps.map(() => false);
      const closed = lamps.map(() => false);
      const disconnectCodes = lamps.map((): number | undefined => undefined);
      clients.forEach((c, i) => c.once('close', () => (closed[i] = true)));
      clients.forEach((c, i) => c.once('disconnect', (packet) => (disconnectCodes[i] = packet.reasonCode)));
      const pubacks = lamps.map(() => 0);
      clients.forEach((c, i) => c.on('packetreceive', (packet) => packet.cmd === 'puback' && (pubacks[i] = pubacks[i]! + 1)));
      const results = lamps.map((lamp, i) =>
        clients[i]!.publishAsync(
          `city/${lamp.district}/streetlight/${lamp.nodeId}/telemetry`,
          JSON.stringify({ ts: TEST_START + i, powerState: 'on' }),
          { qos: 1 },
        ).then(
          () => void (acknowledged[i] = true),
          () => undefined,
        ),
      );
      await waitFor(
        async () => metricValue(await metrics.registry.metrics(), 'citybrain_ingest_refused_total', { cause: 'buffer-full' }) >= 1,
        5000,
        'a refusal',
      );
      // Stalled: the log holds maxLag (1) record and 4 publishes wait; every other one is refused.
      await waitFor(
        async () => metricValue(await metrics.registry.metrics(), 'citybrain_ingest_refused_total', { cause: 'buffer-full' }) === 3,
        5000,
        '3 refusals',
      );
      expect(metricValue(await metrics.registry.metrics(), 'citybrain_ingest_inflight')).toBe(4);
      expect(appended()).toBe(1);
      release();
      // Each publish settles: acknowledged, or refused (its connection closed, no PUBACK; the
      // device would resend it on a new connection).
      await waitFor(() => lamps.every((_, i) => acknowledged[i] || closed[i]), 5000, 'every publish acknowledged or its connection closed');
      const acked = lamps.filter((_, i) => acknowledged[i]).map((l) => l.nodeId);
      const refused = lamps.filter((_, i) => !acknowledged[i]).map((l) => l.nodeId);
      expect(acked).toHaveLength(5);
      expect(refused).toHaveLength(3);
      lamps.forEach((l, i) =>
        expect(closed[i], `${l.nodeId} ${acknowledged[i] ? 'acknowledged' : 'refused'}: connection closed`).toBe(!acknowledged[i]),
      );
      // No PUBACK at all for a refused publish (MQTT 5: not even one with a failure code, which would
      // end the exchange); MQTT 5 is told why (server busy) on the DISCONNECT.
      expect(pubacks).toEqual(acknowledged.map((a) => (a ? 1 : 0)));
      expect(disconnectCodes).toEqual(lamps.map((_, i) => (protocolVersion === 5 && !acknowledged[i] ? 0x89 : undefined)));
      const text = await metrics.registry.metrics();
      expect(metricValue(text, 'citybrain_ingest_refused_total', { cause: 'buffer-full' })).toBe(refused.length);
      expect(metricValue(text, 'citybrain_readings_accepted_total', { kind: 'streetlight' })).toBe(acked.length);
      // The log holds exactly the acknowledged readings: none acknowledged is lost, none refused got in.
      await waitFor(() => consumed.length === acked.length, 5000, 'the acknowledged readings consumed');
      expect(consumed.map((v) => (JSON.parse(v) as { nodeId: string }).nodeId).sort()).toEqual([...acked].sort());
      expect(appended()).toBe(acked.length);
      for (const c of clients) c.end(true);
      await Promise.all(results);
      expect(lamps.filter((_, i) => acknowledged[i]).map((l) => l.nodeId)).toEqual(acked); // no PUBACK came late
    });
});

/** A broker with the given options on an in-process log (by default one nobody reads). */
async function brokerOnMemoryLog(options: Partial<BrokerOptions>, transport = new MemoryTransport()) {
  await transport.ensureTopics(topicSpecs(defaultKinds(), 1));
  const metrics = new PipelineMetrics({ defaultMetrics: false });
  const logger = pino({ level: 'silent' });
  const bridge = new TelemetryBridge({
    registry: generateCity(defaultKinds()),
    producer: await transport.producer(),
    metrics,
    logger,
    maxPayloadBytes: 16_384,
    maxBatchBytes: 1 << 20,
    maxFutureSkewMs: 300_000,
  });
  const broker = await startBroker({ host: '127.0.0.1', port: 0, maxInflight: 100, bridge, metrics, logger, ...options });
  return { broker, metrics };
}

/** Connection policy on the raw socket: more new connections per IP than the bucket holds are closed at once, and counted. */
describe('connection rate limit', () => {
  let broker: RunningBroker | undefined;
  afterEach(async () => broker?.close());

  it('closes connections over the per-IP burst before any MQTT is read', async () => {
    let metrics: PipelineMetrics;
    ({ broker, metrics } = await brokerOnMemoryLog({ connectRate: { perSecond: 0.001, burst: 2 } }));
    const clients = [];
    for (let i = 0; i < 2; i++)
      clients.push(await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { clientId: `rl-${i}`, reconnectPeriod: 0 }));
    // The third: the socket is closed without a byte (no CONNACK), as a flood would be.
    const socket = connectTcp(broker.port, '127.0.0.1');
    let received = 0;
    socket.on('data', (d) => (received += d.length));
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    expect(received).toBe(0);
    expect(metricValue(await metrics.registry.metrics(), 'citybrain_mqtt_refused_total', { cause: 'rate-limit' })).toBe(1);
    expect(clients.every((c) => c.connected)).toBe(true);
    await Promise.all(clients.map((c) => c.endAsync()));
  });

  it('on the TLS listener too, before the handshake', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'citybrain-tls-'));
    try {
      selfSignedCert(dir);
      const ca = readFileSync(join(dir, 'cert.pem'));
      const tls = { port: 0, cert: ca, key: readFileSync(join(dir, 'key.pem')) };
      let metrics: PipelineMetrics;
      ({ broker, metrics } = await brokerOnMemoryLog({ connectRate: { perSecond: 0.001, burst: 1 }, tls }));
      const first = await mqtt.connectAsync(`mqtts://127.0.0.1:${broker.tlsPort}`, { ca, reconnectPeriod: 0 });
      const second = connectTls({ port: broker.tlsPort!, host: '127.0.0.1', ca });
      let handshake = false;
      second.on('secureConnect', () => (handshake = true));
      second.on('error', () => undefined);
      await new Promise<void>((resolve) => second.once('close', () => resolve()));
      expect(handshake).toBe(false);
      expect(metricValue(await metrics.registry.metrics(), 'citybrain_mqtt_refused_total', { cause: 'rate-limit' })).toBe(1);
      expect(first.connected).toBe(true);
      await first.endAsync();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Keep-alive per protocol version: 3.1.1 out of range is refused (elsewhere); MQTT 5 is told the maximum and held to it. */
describe('MQTT 5 Server Keep Alive', () => {
  let broker: RunningBroker | undefined;
  afterEach(async () => broker?.close());

  it('a v5 client asking for no keep-alive is told the maximum (Server Keep Alive) and dropped after 1.5x it of silence', async () => {
    ({ broker } = await brokerOnMemoryLog({ keepaliveMaxS: 1 }));
    const raw = await RawConnection.open(broker.port);
    const started = Date.now();
    expect(await raw.connect({ clientId: 'silent-v5', version: 5, keepalive: 0 })).toBe(0);
    // CONNACK properties: Server Keep Alive (0x13) = 1 s.
    const { body } = raw.packets.find((p) => p.type === 2)!;
    const at = body.indexOf(0x13, 3);
    expect(body.readUInt16BE(at + 1)).toBe(1);
    await waitFor(() => raw.closed, 10_000, 'the silent client dropped');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
  });
});
