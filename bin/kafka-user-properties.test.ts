import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCity, TOPICS } from '../core/index.js';
import { defaultKinds } from '../core/kinds/modules.js';
import { KafkaTransport } from '../core/stream/kafka/transport.js';
import type { Consumer, StreamRecord } from '../core/stream/types.js';
import { kafkaFixture } from '../infra/fixtures/kafka.js';
import { testNow } from '../test/clock.js';
import { metricValue, testConfig, waitFor } from '../test/helpers.js';
import { startPipeline, type RunningPipeline } from './pipeline.js';

/**
 * MQTT 5 user properties travel with the records a publish makes, as Kafka headers on a real
 * broker: on `telemetry.raw` (what the processors read) and on `telemetry.dlq`, bounded per publish.
 */
describe('MQTT 5 user properties as Kafka headers', () => {
  const registry = generateCity(defaultKinds());
  const well = registry.ofKind('groundwater').find((w) => !w.gatewayId)!;
  const topic = `city/${well.district}/groundwater/${well.nodeId}/telemetry`;
  let pipeline: RunningPipeline;
  let tx: KafkaTransport;
  let device: MqttClient;
  const seen: StreamRecord[] = [];
  let reader: Consumer;

  beforeAll(async () => {
    const { brokers } = await kafkaFixture();
    pipeline = await startPipeline({
      config: testConfig({ KAFKA_BROKERS: brokers.join(','), MQTT_MAX_USER_PROPERTIES: '3', MQTT_MAX_USER_PROPERTY_BYTES: '64' }),
      registry,
      logger: pino({ level: 'silent' }),
      defaultMetrics: false,
      clock: testNow,
    });
    // A consumer of its own, as any service reading the log would be.
    tx = new KafkaTransport({ brokers, clientId: 'user-properties-test' });
    reader = await tx.consume({
      groupId: `user-properties-${Date.now()}`,
      topics: [TOPICS.raw, TOPICS.dlq],
      fromBeginning: true,
      onBatch: async (b) => void seen.push(...b.records),
    });
    device = await mqtt.connectAsync(`mqtt://127.0.0.1:${pipeline.mqttPort}`, {
      protocolVersion: 5,
      clientId: well.nodeId,
      reconnectPeriod: 0,
    });
  }, 300_000);
  afterAll(async () => {
    await device?.endAsync(true);
    await reader?.stop();
    await tx?.close();
    await pipeline?.close();
    await (await kafkaFixture().catch(() => null))?.release();
  }, 60_000);

  /** The records of one publish, found by a marker in their value. */
  const recordsWith = (marker: string, topicName: string) =>
    waitFor(
      () => {
        const found = seen.filter((r) => r.topic === topicName && r.value.toString().includes(marker));
        return found.length > 0 ? found : undefined;
      },
      30_000,
      `${marker} on ${topicName}`,
    );

  it('a reading carries its user properties as headers on telemetry.raw, a rejected publish on telemetry.dlq', async () => {
    const ts = testNow() - 60_000;
    await device.publishAsync(topic, JSON.stringify({ ts, waterTableM: 28.51 }), {
      qos: 1,
      properties: { userProperties: { site: 'north-yard', fw: '4.2.0' } },
    });
    const [raw] = await recordsWith('28.51', TOPICS.raw);
    expect(raw!.headers).toEqual({ site: 'north-yard', fw: '4.2.0' });
    // QoS 1 refused with 0x99; its dead letter still carries the properties.
    const bad = '{"ts": "dead-letter-marker",';
    const refused = await device
      .publishAsync(topic, bad, { qos: 1, properties: { userProperties: { trace: 'abc-123' } } })
      .catch((e: { code?: number }) => e.code);
    expect(refused).toBe(0x99);
    // A dead letter holds the raw payload in base64.
    const [dead] = await recordsWith(Buffer.from(bad).toString('base64'), TOPICS.dlq);
    expect(dead!.headers).toEqual({ trace: 'abc-123' });
  });

  it('a hostile publish keeps only MQTT_MAX_USER_PROPERTIES / MQTT_MAX_USER_PROPERTY_BYTES of them, and the cut is counted', async () => {
    const ts = testNow() - 50_000;
    const userProperties = { a: '1', b: '2', c: '3', d: '4', e: '5' };
    await device.publishAsync(topic, JSON.stringify({ ts, waterTableM: 28.52 }), { qos: 1, properties: { userProperties } });
    const [raw] = await recordsWith('28.52', TOPICS.raw);
    expect(raw!.headers).toEqual({ a: '1', b: '2', c: '3' });
    await device.publishAsync(topic, JSON.stringify({ ts: ts + 1000, waterTableM: 28.53 }), {
      qos: 1,
      properties: { userProperties: { big: 'x'.repeat(60), small: 'y' } },
    });
    const [second] = await recordsWith('28.53', TOPICS.raw);
    // 'big' is 3 + 60 = 63 bytes of the 64 allowed; 'small' (6 more) no longer fits.
    expect(second!.headers).toEqual({ big: 'x'.repeat(60) });
    const text = await pipeline.metrics.registry.metrics();
    expect(metricValue(text, 'citybrain_limit_hits_total', { limit: 'MQTT_MAX_USER_PROPERTIES' })).toBe(2);
    expect(metricValue(text, 'citybrain_limit_hits_total', { limit: 'MQTT_MAX_USER_PROPERTY_BYTES' })).toBe(1);
  });
});
