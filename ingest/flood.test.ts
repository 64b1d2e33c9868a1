import { setTimeout as sleep } from 'node:timers/promises';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { startPipeline, type RunningPipeline } from '../bin/pipeline.js';
import { generateCity, type RegistryNode } from '../core/index.js';
import { metricValue, testConfig, waitFor } from '../test/helpers.js';
import { acceptedIn, processedIn } from '../test/reference.js';
import { testNow } from '../test/clock.js';
import { defaultKinds } from '../core/kinds/modules.js';

/**
 * A flood of malformed messages at ten times the rate of the valid traffic, from other clients,
 * must not starve the valid readings: every valid one is acknowledged on its first try (nothing
 * refused for a full buffer) and processed while the flood is still going, and every malformed one
 * is acknowledged, dead-lettered and counted under its reason.
 *
 * Pacing: every tick sends 5 valid readings and 50 malformed messages; the flood goes on for 20 %
 * more ticks after the last valid reading. "Not starved" is judged by order, not by the clock: all
 * valid readings must be processed before the flood's last message is acknowledged (the last
 * acknowledgement to arrive, whichever message it is, not the acknowledgement of the last one sent).
 * Readings are stamped in simulated time (test/clock.ts), the pipeline's clock is the test clock.
 */
const registry = generateCity(defaultKinds());
const VALID = 1000;
const PER_TICK = 5;
const RATIO = 10;
const TICKS = VALID / PER_TICK;
const FLOOD_TICKS = Math.round(TICKS * 1.2);
const FLOOD_TOTAL = FLOOD_TICKS * PER_TICK * RATIO;
const TICK_MS = 50;

const lamps = registry.ofKind('streetlight');
const parking = registry.ofKind('parking');
const topicOf = (n: RegistryNode) => `city/${n.district}/${n.kind}/${n.nodeId}/telemetry`;

/** The malformed messages, each kind of fault in turn, with the reason ingest must give. */
const FAULTS: Array<{ reason: string; make: (i: number, now: number) => { topic: string; payload: string } }> = [
  { reason: 'bad-json', make: (i) => ({ topic: topicOf(lamps[i % lamps.length]!), payload: `{"ts":${i},"powerState":"on"` }) },
  {
    reason: 'bad-schema',
    make: (i, now) => ({
      topic: topicOf(lamps[i % lamps.length]!),
      payload: JSON.stringify({ ts: now, powerState: 'sideways', dim: 500 }),
    }),
  },
  { reason: 'bad-schema', make: (i) => ({ topic: topicOf(parking[i % parking.length]!), payload: JSON.stringify([1, 2, 3]) }) },
  {
    reason: 'unknown-node',
    make: (i, now) => ({
      topic: `city/Lixia/streetlight/SL-XX-${900000 + i}/telemetry`,
      payload: JSON.stringify({ ts: now, powerState: 'on' }),
    }),
  },
  {
    reason: 'topic-mismatch',
    make: (i, now) => ({
      topic: `city/Nowhere/streetlight/${lamps[i % lamps.length]!.nodeId}/telemetry`,
      payload: JSON.stringify({ ts: now, powerState: 'on' }),
    }),
  },
  {
    reason: 'node-mismatch',
    make: (i, now) => ({
      topic: topicOf(lamps[i % lamps.length]!),
      payload: JSON.stringify({ ts: now, nodeId: 'SL-SOMEONE-ELSE', powerState: 'on' }),
    }),
  },
  {
    reason: 'bad-timestamp',
    make: (i, now) => ({
      topic: topicOf(lamps[i % lamps.length]!),
      payload: JSON.stringify({ ts: now + 86_400_000 + i, powerState: 'on' }),
    }),
  },
  { reason: 'unknown-kind', make: (i, now) => ({ topic: `city/Lixia/toaster/T-${i}/telemetry`, payload: JSON.stringify({ ts: now }) }) },
  { reason: 'bad-topic', make: (i) => ({ topic: `spam/${i}`, payload: 'buy now' }) },
  {
    reason: 'too-large',
    make: (i, now) => ({
      topic: topicOf(lamps[i % lamps.length]!),
      payload: JSON.stringify({ ts: now, powerState: 'on', pad: 'x'.repeat(17_000) }),
    }),
  },
];

describe('malformed flood at 10x the valid rate', () => {
  let pipeline: RunningPipeline | undefined;
  const clients: MqttClient[] = [];

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    await pipeline?.close();
  });

  it('every valid reading processed before the flood ends, every malformed one rejected and counted, sent = processed + rejected', async () => {
    const running = (pipeline = await startPipeline({
      config: testConfig({ MQTT_AUTH: 'off', EVAL_INTERVAL_MS: '500' }),
      registry,
      defaultMetrics: false,
      clock: testNow,
    }));
    const url = `mqtt://127.0.0.1:${pipeline.mqttPort}`;
    const api = `http://127.0.0.1:${pipeline.httpPort}`;
    const connect = async (id: string) => {
      const c = await mqtt.connectAsync(url, { clientId: id, clean: true, reconnectPeriod: 500 });
      clients.push(c);
      return c;
    };
    const valid = await connect('flood-test-valid');
    const flooders = await Promise.all([0, 1, 2, 3].map((i) => connect(`flood-test-bad-${i}`)));

    const expectedRejected: Record<string, number> = {};
    const pending: Promise<unknown>[] = [];
    let validAcked = 0;
    let floodSent = 0;
    let floodAcked = 0;
    /** processed when the flood's last acknowledgement arrived (read in process, at once). */
    let processedAtFloodEnd = -1;
    const now = testNow();
    const startTs = now - 60_000;

    for (let tick = 0; tick < FLOOD_TICKS; tick++) {
      if (tick < TICKS) {
        for (let k = 0; k < PER_TICK; k++) {
          const i = tick * PER_TICK + k;
          const node = lamps[i % lamps.length]!;
          // Each lamp's readings a second apart in event time, in order.
          const payload = JSON.stringify({ ts: startTs + Math.floor(i / lamps.length) * 1000 + (i % 1000), powerState: 'on', dim: 100 });
          pending.push(valid.publishAsync(topicOf(node), payload, { qos: 1 }).then(() => validAcked++));
        }
      }
      for (let k = 0; k < PER_TICK * RATIO; k++) {
        const fault = FAULTS[floodSent % FAULTS.length]!;
        const { topic, payload } = fault.make(floodSent, now);
        expectedRejected[fault.reason] = (expectedRejected[fault.reason] ?? 0) + 1;
        const client = flooders[floodSent % flooders.length]!;
        floodSent++;
        pending.push(
          client.publishAsync(topic, payload, { qos: 1 }).then(async () => {
            // The last acknowledgement of the flood, whichever message it is (four clients: the
            // last one sent need not be the last acknowledged). The counter is read in process at
            // once, not over HTTP, so processing gets no extra time.
            if (++floodAcked === FLOOD_TOTAL) {
              const reading = running.metrics.processed.get();
              processedAtFloodEnd = (await reading).values.reduce((sum, v) => sum + v.value, 0);
            }
          }),
        );
      }
      await sleep(TICK_MS);
    }
    await Promise.all(pending);
    expect(validAcked).toBe(VALID);
    expect(floodSent).toBe(FLOOD_TOTAL);
    expect(floodAcked).toBe(floodSent);
    expect(floodSent).toBeGreaterThanOrEqual(RATIO * VALID);

    // Not starved: the valid readings were all processed while the flood was still arriving.
    expect(processedAtFloodEnd).toBe(VALID);

    const text = await waitFor(
      async () => {
        const t = await (await fetch(`${api}/metrics`)).text();
        return processedIn(t) === VALID && t;
      },
      10_000,
      'processed',
    );
    const rejected = Object.fromEntries(
      Object.keys(expectedRejected).map((reason) => [reason, metricValue(text, 'citybrain_readings_rejected_total', { reason })]),
    );
    expect(rejected).toEqual(expectedRejected);
    const accepted = acceptedIn(text);
    const rejectedTotal = Object.values(rejected).reduce((a, b) => a + b, 0);
    expect(accepted).toBe(VALID);
    expect(processedIn(text) + rejectedTotal).toBe(VALID + floodSent);
    // No valid publish was refused for a full buffer or a failed append (none had to be resent).
    expect(metricValue(text, 'citybrain_ingest_refused_total', { cause: 'buffer-full' })).toBe(0);
    expect(metricValue(text, 'citybrain_ingest_refused_total', { cause: 'append-failed' })).toBe(0);

    // The API shows the surge: exactly the rejections by reason (once the next evaluation has them).
    const kpis = await waitFor(
      async () => {
        const k = (await (await fetch(`${api}/api/v1/kpis`)).json()) as { nodes: { rejectedLast5m: Record<string, number> } };
        return Object.entries(expectedRejected).every(([reason, n]) => (k.nodes.rejectedLast5m[reason] ?? 0) >= n) && k;
      },
      10_000,
      'the API to show the rejections',
    );
    expect(Object.fromEntries(Object.keys(expectedRejected).map((reason) => [reason, kpis.nodes.rejectedLast5m[reason] ?? 0]))).toEqual(
      expectedRejected,
    );
    console.log(
      `flood: ${VALID} valid + ${floodSent} malformed; rejected ${JSON.stringify(rejected)}; API rejectedLast5m ${JSON.stringify(kpis.nodes.rejectedLast5m)}`,
    );
  }, 120_000);
});
