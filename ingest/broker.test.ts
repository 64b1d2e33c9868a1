import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { generateCity, MemoryTransport, PipelineMetrics, TOPICS, topicSpecs } from '../core/index.js';
import { metricValue, waitFor } from '../test/helpers.js';
import { TelemetryBridge } from './bridge.js';
import { startBroker, type RunningBroker } from './broker.js';

/**
 * Backpressure through a real in-process log whose only consumer is stalled: acknowledgements
 * wait for the append, past the bound publishes are refused unacknowledged, and nothing
 * acknowledged is lost.
 */
describe('ingest backpressure', () => {
  let broker: RunningBroker | undefined;
  afterEach(async () => broker?.close());

  async function setup(maxLag: number, maxInflight: number) {
    const registry = generateCity();
    const transport = new MemoryTransport({ maxLag });
    await transport.ensureTopics(topicSpecs(1));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const consumed: string[] = [];
    await transport.consume({ groupId: 'stalled', topics: [TOPICS.raw], onBatch: async (b) => { await gate; consumed.push(...b.records.map((r) => r.value.toString())); } });
    const metrics = new PipelineMetrics({ defaultMetrics: false });
    const logger = pino({ level: 'silent' });
    const bridge = new TelemetryBridge({ registry, producer: await transport.producer(), metrics, logger, maxPayloadBytes: 16_384, maxBatchBytes: 1 << 20, maxFutureSkewMs: 300_000 });
    broker = await startBroker({ host: '127.0.0.1', port: 0, maxInflight, bridge, metrics, logger });
    return { registry, metrics, consumed, release };
  }

  it('acknowledges QoS 1 only after the log holds the reading', async () => {
    const { registry, metrics, consumed, release } = await setup(3, 100);
    const lamp = registry.ofKind('streetlight')[0]!;
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker!.port}`, { reconnectPeriod: 0 });
    let acked = 0;
    const sends = Array.from({ length: 12 }, (_, i) =>
      client.publishAsync(`city/${lamp.district}/streetlight/${lamp.nodeId}/telemetry`, JSON.stringify({ ts: Date.now() + i, powerState: 'on' }), { qos: 1 }).then(() => acked++),
    );
    await waitFor(async () => metricValue(await metrics.registry.metrics(), 'citybrain_ingest_inflight') >= 9, 5000, 'appends waiting for the log');
    await new Promise((r) => setTimeout(r, 100));
    expect(acked).toBeLessThanOrEqual(3); // the log takes maxLag records while its reader is stalled
    release();
    await Promise.all(sends);
    expect(acked).toBe(12);
    await waitFor(() => consumed.length === 12, 5000, 'all consumed');
    await client.endAsync();
  });

  it('refuses publishes past the bound without acknowledging them, and counts them', async () => {
    const { registry, metrics, release } = await setup(1, 4);
    const lamps = registry.ofKind('streetlight').slice(0, 8);
    // One client per lamp: each waits on its own append, so the waiting publishes add up across clients.
    const clients = await Promise.all(lamps.map(() => mqtt.connectAsync(`mqtt://127.0.0.1:${broker!.port}`, { reconnectPeriod: 0 })));
    const results = lamps.map((lamp, i) =>
      clients[i]!.publishAsync(`city/${lamp.district}/streetlight/${lamp.nodeId}/telemetry`, JSON.stringify({ ts: Date.now(), powerState: 'on' }), { qos: 1 }).then(
        () => 'acked',
        () => 'refused',
      ),
    );
    await waitFor(async () => metricValue(await metrics.registry.metrics(), 'citybrain_ingest_refused_total', { cause: 'buffer-full' }) >= 1, 5000, 'a refusal');
    const refusedClients = clients.filter((c) => !c.connected).length;
    expect(refusedClients).toBeGreaterThanOrEqual(1);
    release();
    await new Promise((r) => setTimeout(r, 200));
    const text = await metrics.registry.metrics();
    // Every publish was either accepted into the log or refused unacknowledged: none vanished.
    expect(metricValue(text, 'citybrain_readings_accepted_total', { kind: 'streetlight' }) + metricValue(text, 'citybrain_ingest_refused_total', { cause: 'buffer-full' })).toBe(8);
    for (const c of clients) c.end(true);
    void results;
  });
});
