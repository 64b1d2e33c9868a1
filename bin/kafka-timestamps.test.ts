import { Kafka, logLevel } from 'kafkajs';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCity, TOPICS } from '../core/index.js';
import { defaultKinds } from '../core/kinds/modules.js';
import { KafkaTransport } from '../core/stream/kafka/transport.js';
import type { StreamRecord } from '../core/stream/types.js';
import { dedicatedKafka, type KafkaBroker } from '../infra/fixtures/kafka.js';
import { testNow } from '../test/clock.js';
import { metricValue, testConfig, waitFor } from '../test/helpers.js';
import { startPipeline, type RunningPipeline } from './pipeline.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** telemetry.raw's retention in the replay test: 7 days scaled down (long enough for the test to finish inside it). */
const RETENTION_MS = 120_000;

/**
 * Kafka's record timestamps are arrival times, whatever clock a device has: retention counts from
 * arrival (a replayed buffer is not deleted at once) and the broker's limit on timestamps ahead of
 * its clock (`message.timestamp.after.max.ms`, one hour by default) does not refuse readings that
 * MAX_FUTURE_SKEW_S lets through. The event time stays in the record's JSON.
 *
 * One broker for both tests, which checks retention every second (Kafka: every 5 minutes; our test broker: every minute).
 * The replay runs first: the processors' watermarks only move forward, and a 3-day-old buffer after
 * a reading 2 h ahead would be late on that reading's partition.
 */
describe('Kafka record timestamps', () => {
  const registry = generateCity(defaultKinds());
  let broker: KafkaBroker;
  let pipeline: RunningPipeline | undefined;
  /** The test's own client: topics, offsets, reading back. */
  let tx: KafkaTransport;
  /** For the probe records, stamped in the past as an older version of ingest did (the transport cannot). */
  let kafka: Kafka;

  beforeAll(async () => {
    // Retention checked every second from the start (by default the first check waits 30 s).
    broker = await dedicatedKafka({ config: { 'log.retention.check.interval.ms': 1000, 'log.initial.task.delay.ms': 0 } });
    tx = new KafkaTransport({ brokers: broker.brokers, clientId: 'timestamps-test' });
    kafka = new Kafka({ clientId: 'timestamps-probe', brokers: broker.brokers, logLevel: logLevel.NOTHING });
  }, 300_000);
  afterAll(async () => {
    await pipeline?.close();
    await tx?.close();
    await broker?.stop();
  }, 60_000);

  const start = async (clock: () => number, settings: Record<string, string> = {}) => {
    await pipeline?.close();
    pipeline = await startPipeline({
      config: testConfig({ KAFKA_BROKERS: broker.brokers.join(','), EVAL_INTERVAL_MS: '200', ...settings }),
      registry,
      logger: pino({ level: 'silent' }),
      defaultMetrics: false,
      clock,
    });
    const api = `http://127.0.0.1:${pipeline.httpPort}`;
    return {
      mqttUrl: `mqtt://127.0.0.1:${pipeline.mqttPort}`,
      get: async (path: string) => (await fetch(`${api}${path}`)).json() as Promise<any>,
      metric: async (name: string, labels: Record<string, string> = {}) =>
        metricValue(await (await fetch(`${api}/metrics`)).text(), name, labels),
    };
  };

  /**
   * Resolves once the broker's retention check has run over every log after this call: a probe
   * record stamped 3 days ago in a topic with the same retention is deleted by one pass, and a
   * second probe, written after that deletion, by a later pass, which began after this call and
   * visits every log.
   */
  const retentionChecked = async () => {
    const probe = 'retention.probe';
    await tx.ensureTopics([{ name: probe, partitions: 1, retentionMs: RETENTION_MS }]);
    const admin = await tx.admin();
    const producer = kafka.producer();
    await producer.connect();
    try {
      for (let pass = 0; pass < 2; pass++) {
        const [sent] = await producer.send({
          topic: probe,
          acks: -1,
          messages: [{ value: 'old', timestamp: String(Date.now() - 3 * DAY) }],
        });
        const offset = Number(sent!.baseOffset);
        await waitFor(async () => Number((await admin.fetchTopicOffsets(probe))[0]!.low) > offset, 30_000, 'a retention pass');
      }
    } finally {
      await producer.disconnect();
    }
  };

  it('a gateway replaying a 3-day-old buffer: every reading processed, none deleted by retention counted from its event time', async () => {
    // telemetry.raw as an existing cluster would have it, with 7 days of retention scaled down to
    // RETENTION_MS: every buffered reading is far older than that by its event time.
    await tx.ensureTopics([{ name: TOPICS.raw, partitions: 12, retentionMs: RETENTION_MS }]);
    const { mqttUrl, get, metric } = await start(testNow);

    // Ten parking spaces behind one gateway, a reading each every 30 min from 3 days ago: sent in
    // time order, 240 entries a batch, once the gateway is back.
    const lot = registry.ofKind('parking')[0]!.gatewayId!;
    const spaces = registry
      .ofKind('parking')
      .filter((s) => s.gatewayId === lot)
      .slice(0, 10);
    const from = testNow() - 3 * DAY;
    const buffer = Array.from({ length: 144 }, (_, step) =>
      spaces.map((s, i) => ({
        nodeId: s.nodeId,
        kind: 'parking',
        ts: from + step * 30 * 60_000,
        seq: step,
        status: (step + i) % 3 ? 'occupied' : 'free',
        batteryV: 3.3,
      })),
    ).flat();
    const device = await mqtt.connectAsync(mqttUrl, { clientId: `gateway-${lot}`, reconnectPeriod: 0 });
    const sentFrom = Date.now();
    for (let i = 0; i < buffer.length; i += 240)
      await device.publishAsync(`city/gateways/${lot}/batch`, JSON.stringify({ readings: buffer.slice(i, i + 240) }), { qos: 1 });
    const sentTo = Date.now();
    await device.endAsync();
    expect(await metric('citybrain_readings_accepted_total', { kind: 'parking' })).toBe(buffer.length);

    // Every reading processed, none late; each space shows its newest buffered reading.
    await waitFor(
      async () => (await metric('citybrain_readings_processed_total', { kind: 'parking' })) >= buffer.length,
      60_000,
      'every buffered reading processed',
    );
    const newest = buffer.at(-1)!.ts;
    for (const s of spaces) expect((await get(`/api/v1/nodes/${s.nodeId}`)).latest?.ts).toBe(newest);
    const text = await (await fetch(`http://127.0.0.1:${pipeline!.httpPort}/metrics`)).text();
    expect(text).not.toMatch(/^citybrain_readings_rejected_total\{[^}]*\} [1-9]/m);

    // The broker's retention has looked at telemetry.raw since: nothing deleted (its start offsets
    // are still 0), since retention counts from the records' timestamps, and those are arrival times.
    await retentionChecked();
    const checkedAt = Date.now();
    expect(checkedAt - sentFrom, 'the check ran inside the retention counted from arrival').toBeLessThan(RETENTION_MS);
    const offsets = await (await tx.admin()).fetchTopicOffsets(TOPICS.raw);
    expect(offsets.map((o) => Number(o.low))).toEqual(offsets.map(() => 0));
    expect(offsets.reduce((sum, o) => sum + Number(o.high), 0)).toBe(buffer.length);

    // The records themselves: stamped on arrival, the reading's own time in the JSON.
    const seen: StreamRecord[] = [];
    const consumer = await tx.consume({
      groupId: 'timestamps-reader',
      topics: [TOPICS.raw],
      fromBeginning: true,
      onBatch: async (b) => void seen.push(...b.records),
    });
    await waitFor(() => seen.length >= buffer.length, 30_000, 'telemetry.raw read back');
    await consumer.stop();
    for (const r of seen) {
      expect(r.timestamp).toBeGreaterThanOrEqual(sentFrom);
      expect(r.timestamp).toBeLessThanOrEqual(sentTo);
      const { reading } = JSON.parse(r.value.toString()) as { reading: { ts: number } };
      expect(r.timestamp - reading.ts, 'arrival minus event time').toBeGreaterThan(RETENTION_MS);
    }
  }, 180_000);

  it('MAX_FUTURE_SKEW_S=7200: a reading 2 h ahead is acknowledged, processed and in the node view and the KPIs', async () => {
    // The broker judges record timestamps by its own wall clock, so here ingest and the processors
    // run on the wall clock too (the test clock lies hours back, where 2 h ahead is still the past).
    // A groundwater well: nothing in this test depends on the hour of day.
    // A skew that large needs a longer allowed lateness (config refuses it otherwise).
    const { mqttUrl, get, metric } = await start(Date.now, { MAX_FUTURE_SKEW_S: '7200', ALLOWED_LATENESS_S: '10800' });
    const well = registry.ofKind('groundwater')[0]!;
    const device = await mqtt.connectAsync(mqttUrl, { clientId: 'well-ahead', reconnectPeriod: 0 });
    let closed = false;
    device.once('close', () => (closed = true));
    // Ingest reads its clock after this: the reading is at most 7200 s ahead of it.
    const ts = Date.now() + 2 * HOUR;
    const acked = await Promise.race([
      device
        .publishAsync(`city/${well.district}/groundwater/${well.nodeId}/telemetry`, JSON.stringify({ ts, waterTableM: 28.6 }), { qos: 1 })
        .then(() => 'PUBACK'),
      waitFor(() => closed, 30_000, 'PUBACK or close').then(() => 'closed without PUBACK'),
    ]);
    expect(acked).toBe('PUBACK');
    await device.endAsync();

    await waitFor(async () => (await metric('citybrain_readings_processed_total', { kind: 'groundwater' })) >= 1, 30_000, 'processed');
    expect((await get(`/api/v1/nodes/${well.nodeId}`)).latest?.ts).toBe(ts);
    // The KPIs come through Kafka (each partition's partial, evaluated on the event clock, now 2 h ahead).
    const kpis = await waitFor(
      async () => {
        const body = await get('/api/v1/kpis');
        return body.evaluatedAt >= ts ? body : undefined;
      },
      30_000,
      'KPIs evaluated at the reading',
    );
    const row = (kpis.groundwater.list as { nodeId: string; lastTs?: number }[]).find((w) => w.nodeId === well.nodeId);
    expect(row?.lastTs).toBe(ts);
    // The KPI snapshot the aggregator writes back to Kafka at that evaluation was taken too.
    let snapshotAt = 0;
    const consumer = await tx.consume({
      groupId: 'timestamps-kpis',
      topics: [TOPICS.metrics('groundwater')],
      fromBeginning: true,
      onBatch: async (b) => {
        for (const r of b.records) snapshotAt = Math.max(snapshotAt, (JSON.parse(r.value.toString()) as { ts: number }).ts);
      },
    });
    await waitFor(() => snapshotAt >= ts, 30_000, 'a groundwater KPI snapshot in Kafka at the reading');
    await consumer.stop();
  }, 120_000);
});
