/**
 * MQTT 3.1.1 (and 5) rules the embedded broker must keep, with packets written by hand (a client library
 * would not send the wrong ones): a persistent session without a client id is refused, and an empty
 * retained publish clears the retained message instead of being taken for a (bad) reading.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipeline, type RunningPipeline } from '../bin/pipeline.js';
import { generateCity } from '../core/index.js';
import { defaultKinds } from '../core/kinds/modules.js';
import { testNow } from '../test/clock.js';
import { metricValue, testConfig, waitFor } from '../test/helpers.js';
import { publishPacket, RawConnection as Raw, subscribePacket } from '../test/mqtt-raw.js';

const CONNACK = 2;
const PUBLISH = 3;
const PUBACK = 4;
const SUBACK = 9;

describe('MQTT 3.1.1 and 5 protocol rules on the embedded broker', () => {
  const registry = generateCity(defaultKinds());
  const well = registry.ofKind('groundwater')[0]!;
  const topic = `city/${well.district}/groundwater/${well.nodeId}/telemetry`;
  let pipeline: RunningPipeline;
  const metrics = async () => (await fetch(`http://127.0.0.1:${pipeline.httpPort}/metrics`)).text();

  beforeAll(async () => {
    pipeline = await startPipeline({
      config: testConfig({ EVAL_INTERVAL_MS: '200' }),
      registry,
      logger: pino({ level: 'silent' }),
      clock: testNow,
    });
  });
  afterAll(async () => pipeline?.close());

  it('refuses a persistent session without a client id (CONNACK 2, MQTT-3.1.3-8); a clean one gets an id from the broker', async () => {
    const persistent = await Raw.open(pipeline.mqttPort);
    expect(await persistent.connect({ clientId: '', clean: false })).toBe(2);
    await waitFor(() => persistent.closed, 10_000, 'the refused connection closed');
    expect(metricValue(await metrics(), 'citybrain_mqtt_refused_total', { cause: 'client-id' })).toBe(1);

    const clean = await Raw.open(pipeline.mqttPort);
    expect(await clean.connect({ clientId: '', clean: true })).toBe(0);
    clean.close();
  });

  it('MQTT 5: refuses a persistent session (Session Expiry Interval > 0) without a client id (CONNACK 0x85); without one the broker assigns an id', async () => {
    const before = metricValue(await metrics(), 'citybrain_mqtt_refused_total', { cause: 'client-id' });
    // Clean Start or not: a session that outlives the connection needs an id to be found again.
    for (const clean of [false, true]) {
      const persistent = await Raw.open(pipeline.mqttPort);
      expect(await persistent.connect({ clientId: '', clean, version: 5, sessionExpiry: 300 })).toBe(0x85);
      await waitFor(() => persistent.closed, 10_000, 'the refused connection closed');
    }
    expect(metricValue(await metrics(), 'citybrain_mqtt_refused_total', { cause: 'client-id' })).toBe(before + 2);

    const ephemeral = await Raw.open(pipeline.mqttPort);
    expect(await ephemeral.connect({ clientId: '', clean: true, version: 5 })).toBe(0);
    // The CONNACK's Assigned Client Identifier (property 0x12) names the id the broker gave it.
    const { body } = ephemeral.packets.find((p) => p.type === CONNACK)!;
    const at = body.indexOf(0x12, 3);
    expect(at).toBeGreaterThan(2);
    expect(body.subarray(at + 3, at + 3 + body.readUInt16BE(at + 1)).toString()).toMatch(/^\S+$/);
    ephemeral.close();
  });

  it('an empty retained publish clears the retained reading; it is no reading and no dead letter', async () => {
    const device = await Raw.open(pipeline.mqttPort);
    expect(await device.connect({ clientId: 'retain-device' })).toBe(0);
    const reading = JSON.stringify({ ts: testNow() - 3_600_000, waterTableM: 28.4 });
    device.send(publishPacket({ topic, payload: reading, qos: 1, id: 1, retain: true }));
    await device.next(PUBACK, 'PUBACK of the retained reading');

    /** A new subscriber's retained deliveries on the topic. */
    const retained = async () => {
      const watcher = await Raw.open(pipeline.mqttPort);
      expect(await watcher.connect({ clientId: `watcher-${Date.now()}` })).toBe(0);
      watcher.send(subscribePacket(1, topic, 1));
      await watcher.next(SUBACK, 'SUBACK');
      // A retained message is sent right after the SUBACK; a PINGRESP after it proves nothing more is coming.
      watcher.send(Buffer.from([0xc0, 0x00]));
      await watcher.next(13, 'PINGRESP');
      const got = watcher.packets.filter((p) => p.type === PUBLISH && (p.flags & 1) === 1);
      watcher.close();
      return got.map((p) => p.body.subarray(2 + p.body.readUInt16BE(0) + 2).toString());
    };
    expect(await retained()).toEqual([reading]);

    const before = await metrics();
    device.send(publishPacket({ topic, payload: '', qos: 1, id: 2, retain: true }));
    await waitFor(() => device.packets.filter((p) => p.type === PUBACK).length === 2, 10_000, 'PUBACK of the clearing publish');
    expect(await retained()).toEqual([]);
    const after = await metrics();
    expect(metricValue(after, 'citybrain_mqtt_retained_cleared_total')).toBe(1);
    // Not a reading: nothing dead-lettered, nothing accepted.
    expect(metricValue(after, 'citybrain_readings_rejected_total', { reason: 'bad-json' })).toBe(
      metricValue(before, 'citybrain_readings_rejected_total', { reason: 'bad-json' }),
    );
    expect(metricValue(after, 'citybrain_readings_accepted_total', { kind: 'groundwater' })).toBe(
      metricValue(before, 'citybrain_readings_accepted_total', { kind: 'groundwater' }),
    );
    device.close();
  });
});
