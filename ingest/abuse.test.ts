import { setTimeout as sleep } from 'node:timers/promises';
import { connect as connectTcp, type Socket } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningPipeline } from '../bin/pipeline.js';
import { generateCity } from '../core/index.js';
import { testNow } from '../test/clock.js';
import { authPipeline, type AuthPipeline } from '../test/auth-pipeline.js';
import { metricValue, waitFor } from '../test/helpers.js';
import { connectPacket, encodeLength } from '../test/mqtt-raw.js';
import { defaultKinds } from '../core/kinds/modules.js';

const MiB = 1024 * 1024;

/**
 * Issue 20, items 3-6, over real MQTT and HTTP with authentication on: one gateway batch of
 * 520,000 tiny bad entries, 200 unauthenticated CONNECTs announcing 2 MiB each, and a login flood
 * from four addresses must not stall the pipeline for anyone else; a batch entry nested 5,000
 * levels deep costs only its own entry.
 */
describe('abuse: oversized batches, oversized CONNECTs, login floods, deep nesting', () => {
  const registry = generateCity(defaultKinds());
  const wells = registry.ofKind('groundwater').filter((w) => !w.gatewayId);
  const well = wells[0]!; // the device whose PUBACKs are timed
  const lateWell = wells[1]!; // logs in for the first time during the flood
  const space = registry.ofKind('parking')[0]!;
  const gateway = space.gatewayId!;
  const ownSpaces = registry
    .ofKind('parking')
    .filter((p) => p.gatewayId === gateway)
    .slice(0, 2);
  const secrets = new Map<string, string>();
  let pipeline: RunningPipeline;
  let mqttUrl: string;
  let api: string;
  const clients: MqttClient[] = [];
  const metrics = async () => (await fetch(`${api}/metrics`)).text();
  const as = async (id: string) => {
    const c = await mqtt.connectAsync(mqttUrl, {
      clientId: id,
      username: id,
      password: secrets.get(id),
      reconnectPeriod: 0,
      connectTimeout: 10_000,
    });
    clients.push(c);
    return c;
  };
  /** mqtt.js from a given source address (its URL form has no option for one). */
  const from = (id: string, localAddress: string) =>
    new Promise<MqttClient>((resolve, reject) => {
      const c = new mqtt.MqttClient(() => connectTcp({ port: pipeline.mqttPort, host: '127.0.0.1', localAddress }), {
        clientId: id,
        username: id,
        password: secrets.get(id),
        reconnectPeriod: 0,
        connectTimeout: 10_000,
        protocolVersion: 4,
      });
      clients.push(c);
      c.once('connect', () => resolve(c));
      c.once('error', reject);
    });
  const wellTopic = `city/${well.district}/groundwater/${well.nodeId}/telemetry`;
  const batchTopic = `city/gateways/${gateway}/batch`;

  let auth: AuthPipeline;
  beforeAll(async () => {
    auth = await authPipeline(
      registry,
      [
        { type: 'device', id: well.nodeId },
        { type: 'device', id: lateWell.nodeId },
        { type: 'gateway', id: gateway },
      ],
      () => ({ EVAL_INTERVAL_MS: '500' }),
    );
    ({ pipeline, mqttUrl, api } = auth);
    for (const [id, secret] of auth.secrets) secrets.set(id, secret);
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    await auth?.close();
  });

  /**
   * Sockets that each announce a 2 MiB CONNECT and send all of it but the last byte (or only its
   * first `sendBytes`), then hold (as the attack did, within the 30 s connect timeout). Resolves once
   * every socket's bytes are written or it was closed by the broker, with the RSS at that moment;
   * then closes them all.
   */
  async function oversizedConnects(count: number, sendBytes = 2 * MiB): Promise<{ rss: number; closedByBroker: number }> {
    const body = Buffer.alloc(2 * MiB - 16, 0x61);
    const packet = Buffer.concat([Buffer.from([0x10]), encodeLength(body.length), body]).subarray(0, Math.min(sendBytes, 2 * MiB - 16));
    const sockets: Socket[] = [];
    let closedByBroker = 0;
    await Promise.all(
      Array.from(
        { length: count },
        () =>
          new Promise<void>((resolve) => {
            const s = connectTcp(pipeline.mqttPort, '127.0.0.1');
            sockets.push(s);
            s.on('error', () => undefined);
            s.on('close', () => {
              closedByBroker++;
              resolve();
            });
            s.on('connect', () => s.write(packet, () => resolve()));
            s.setTimeout(20_000, () => s.destroy());
          }),
      ),
    );
    // The highest RSS over 3 s while they are held open, as they would be during the connect timeout.
    let rss = 0;
    for (let i = 0; i < 30; i++) {
      rss = Math.max(rss, process.memoryUsage().rss);
      await sleep(100);
    }
    const closed = closedByBroker;
    await Promise.all(
      sockets.map((s) => new Promise<void>((resolve) => (s.destroyed ? resolve() : (s.once('close', () => resolve()), s.destroy())))),
    );
    return { rss, closedByBroker: closed };
  }

  /** One raw login attempt: CONNACK return code (-1: closed without one) and how long it took. */
  function loginAttempt(localAddress: string, username: string, password: string): Promise<{ code: number; ms: number }> {
    const started = performance.now();
    return new Promise((resolve) => {
      const s: Socket = connectTcp({ port: pipeline.mqttPort, host: '127.0.0.1', localAddress });
      let code = -1;
      s.on('error', () => undefined);
      s.on('data', (d: Buffer) => {
        if (d[0] === 0x20 && d.length >= 4) code = d[3]!;
        s.destroy();
      });
      s.on('close', () => resolve({ code, ms: performance.now() - started }));
      s.on('connect', () => s.write(connectPacket({ clientId: username, username, password, keepalive: 30 })));
      s.setTimeout(10_000, () => s.destroy());
    });
  }

  /** Times /health and a QoS 1 publish of another device every 100 ms until stopped; returns the worst of each. */
  function probe(device: MqttClient) {
    let stop = false;
    const worst = { health: 0, puback: 0, samples: 0 };
    const done = (async () => {
      while (!stop) {
        const t0 = performance.now();
        const health = await fetch(`${api}/health`).then((r) => r.status);
        const t1 = performance.now();
        await device.publishAsync(wellTopic, JSON.stringify({ ts: testNow(), waterTableM: 28.1 }), { qos: 1 });
        const t2 = performance.now();
        expect(health).toBe(200);
        worst.health = Math.max(worst.health, t1 - t0);
        worst.puback = Math.max(worst.puback, t2 - t1);
        worst.samples++;
        await sleep(100);
      }
    })();
    return {
      async stop() {
        stop = true;
        await done;
        return worst;
      },
    };
  }

  it('200 unauthenticated CONNECTs announcing 2 MiB are closed at the header: RSS stays within 100 MB', async () => {
    const before = metricValue(await metrics(), 'citybrain_mqtt_refused_total', { cause: 'connect-too-large' });
    const rssBefore = process.memoryUsage().rss;
    const { rss: rssAfter, closedByBroker } = await oversizedConnects(200);
    const text = await metrics();
    console.log(
      `oversized CONNECTs: RSS ${Math.round(rssBefore / MiB)} -> ${Math.round(rssAfter / MiB)} MB while they are open; ${closedByBroker} of 200 closed by the broker`,
    );
    expect(rssAfter - rssBefore).toBeLessThan(100 * MiB);
    expect(closedByBroker).toBe(200);
    expect(metricValue(text, 'citybrain_mqtt_refused_total', { cause: 'connect-too-large' })).toBe(before + 200);
    expect(metricValue(text, 'citybrain_limit_hits_total', { limit: 'MQTT_MAX_CONNECT_BYTES' })).toBeGreaterThanOrEqual(200);
  }, 60_000);

  it("during a 1 MiB batch of tiny bad entries, oversized CONNECTs and a login flood from four addresses: /health and another device's PUBACK within 1 s", async () => {
    const device = await as(well.nodeId);
    const gw = await as(gateway);
    const start = await metrics();
    const tooLarge0 = metricValue(start, 'citybrain_readings_rejected_total', { reason: 'too-large' });
    const backoff0 = metricValue(start, 'citybrain_mqtt_refused_total', { cause: 'auth-backoff' });
    const busy0 = metricValue(start, 'citybrain_mqtt_refused_total', { cause: 'auth-busy' });
    const badCredentials0 = metricValue(start, 'citybrain_mqtt_refused_total', { cause: 'bad-credentials' });

    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const probes = probe(device);
    await sleep(300); // a baseline sample or two

    // The login flood: four addresses, 45 attempts/s each (under the per-IP connection limit), wrong
    // passwords for the device's own id and for ids nobody has.
    const floodMs = 6_000;
    const flood: Promise<{ code: number; ms: number }>[] = [];
    const floodDone = Promise.all(
      ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'].map(async (address, a) => {
        for (let i = 0; i < (45 * floodMs) / 1000; i++) {
          flood.push(loginAttempt(address, i % 3 === 0 ? well.nodeId : `SL-INTRUDER-${a}-${i}`, 'not-the-password-000000000000000'));
          await sleep(1000 / 45);
        }
      }),
    );
    // The batch: 1 MiB of `1,` (about 520,000 entries), three times.
    const count = Math.floor((MiB - 20) / 2);
    const batch = `{"readings":[${Array<string>(count).fill('1').join(',')}]}`;
    expect(batch.length).toBeLessThanOrEqual(MiB);
    const batches = (async () => {
      for (let i = 0; i < 3; i++) await gw.publishAsync(batchTopic, batch, { qos: 1 });
    })();
    // The same announcement as the test above, but only its first 4 KiB sent: the broker closes at
    // the header either way, and the rest would be this process's work, not the pipeline's.
    const connects = oversizedConnects(200, 4096);
    // A device that never logged in before logs in during the flood, from its own address.
    await sleep(2_000);
    const t0 = performance.now();
    const late = await from(lateWell.nodeId, '127.0.1.1');
    const lateLoginMs = performance.now() - t0;

    await Promise.all([floodDone, batches, connects]);
    const attempts = await Promise.all(flood);
    const worst = await probes.stop();
    lag.disable();
    const end = await metrics();
    const codes = new Map<number, number>();
    for (const a of attempts) codes.set(a.code, (codes.get(a.code) ?? 0) + 1);
    const checked = metricValue(end, 'citybrain_mqtt_refused_total', { cause: 'bad-credentials' }) - badCredentials0;
    const backoff = metricValue(end, 'citybrain_mqtt_refused_total', { cause: 'auth-backoff' }) - backoff0;
    const busy = metricValue(end, 'citybrain_mqtt_refused_total', { cause: 'auth-busy' }) - busy0;
    const slowest = Math.max(...attempts.map((a) => a.ms));
    console.log(
      `storm: ${worst.samples} samples, event-loop delay max ${(lag.max / 1e6).toFixed(0)} ms, worst /health ${worst.health.toFixed(0)} ms, worst PUBACK ${worst.puback.toFixed(0)} ms; ` +
        `first login during the flood ${lateLoginMs.toFixed(0)} ms; flood ${attempts.length} attempts, CONNACK codes ${JSON.stringify([...codes])}, ` +
        `password checks failed ${checked}, refused by backoff ${backoff}, by full queue ${busy}, slowest answer ${slowest.toFixed(0)} ms`,
    );
    expect(worst.samples).toBeGreaterThan(10);
    expect(worst.health).toBeLessThan(1_000);
    expect(worst.puback).toBeLessThan(1_000);
    expect(late.connected).toBe(true);
    expect(lateLoginMs).toBeLessThan(1_000);
    // Nobody in the flood got in; most were refused by the backoff without a password check.
    expect(codes.get(0) ?? 0).toBe(0);
    expect(backoff).toBeGreaterThan(attempts.length / 2);
    expect(metricValue(end, 'citybrain_readings_rejected_total', { reason: 'too-large' })).toBe(tooLarge0 + 3);
    expect(metricValue(end, 'citybrain_limit_hits_total', { limit: 'MAX_BATCH_ENTRIES' })).toBeGreaterThanOrEqual(3);
    expect(device.connected && gw.connected).toBe(true);
  }, 120_000);

  it('a batch entry nested 5,000 levels deep: the valid entries accepted, the bad one dead-lettered once, the connection stays', async () => {
    const gw = await as(gateway);
    const text = await metrics();
    const accepted = metricValue(text, 'citybrain_readings_accepted_total', { kind: 'parking' });
    const badSchema = metricValue(text, 'citybrain_readings_rejected_total', { reason: 'bad-schema' });
    const depthCuts = metricValue(text, 'citybrain_limit_hits_total', { limit: 'DLQ_PAYLOAD_MAX_DEPTH' });
    const entry = (nodeId: string) => `{"nodeId":"${nodeId}","kind":"parking","ts":${testNow()},"status":"occupied"}`;
    const deep = `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`;
    const payload = `{"readings":[${entry(ownSpaces[0]!.nodeId)},${deep},${entry(ownSpaces[1]!.nodeId)}]}`;
    await gw.publishAsync(batchTopic, payload, { qos: 1 }); // resolves on PUBACK
    const after = await metrics();
    expect(metricValue(after, 'citybrain_readings_accepted_total', { kind: 'parking' })).toBe(accepted + 2);
    expect(metricValue(after, 'citybrain_readings_rejected_total', { reason: 'bad-schema' })).toBe(badSchema + 1);
    expect(metricValue(after, 'citybrain_limit_hits_total', { limit: 'DLQ_PAYLOAD_MAX_DEPTH' })).toBe(depthCuts + 1);
    // Still connected and acknowledged once: a second publish on the same connection goes through.
    await gw.publishAsync(batchTopic, `{"readings":[${entry(ownSpaces[0]!.nodeId)}]}`, { qos: 1 });
    expect(gw.connected).toBe(true);
    const node = await waitFor(
      async () => {
        const body = (await (await fetch(`${api}/api/v1/nodes/${ownSpaces[1]!.nodeId}`)).json()) as { latest?: unknown };
        return body.latest ? body : undefined;
      },
      10_000,
      'the valid entry beside the deep one processed',
    );
    expect(node.latest).toBeTruthy();
  });

  it('the pipeline stops on close() after all of it', async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => undefined)));
    const t0 = performance.now();
    await pipeline.close();
    const ms = performance.now() - t0;
    console.log(`pipeline closed in ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(10_000);
    await expect(fetch(`${api}/health`)).rejects.toThrow();
  });
});
