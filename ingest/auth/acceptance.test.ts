import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningPipeline } from '../../bin/pipeline.js';
import { generateCity } from '../../core/index.js';
import { freePort } from '../../infra/process.js';
import { authPipeline, type AuthPipeline } from '../../test/auth-pipeline.js';
import { testNow } from '../../test/clock.js';
import { selfSignedCert } from '../../test/tls.js';
import { metricValue, waitFor } from '../../test/helpers.js';
import { defaultKinds } from '../../core/kinds/modules.js';

const VIEWER = 'viewer-token-0123456789';
const CREW = 'crew-token-0123456789ab';
const ADMIN = 'admin-token-0123456789a';

/**
 * Acceptance 1 of the security issue, over real MQTT (plain and TLS) and HTTP against the embedded
 * pipeline with MQTT_AUTH=on, credentials provisioned like `city-brain credentials` does, and
 * API_TOKENS set.
 */
describe('MQTT authentication and authorization, API roles', () => {
  const registry = generateCity(defaultKinds());
  const baotu = registry.ofKind('groundwater').find((w) => w.well === 'Baotu Spring')!;
  const otherWell = registry.ofKind('groundwater').find((w) => w.nodeId !== baotu.nodeId && !w.gatewayId)!;
  const space = registry.ofKind('parking')[0]!;
  const gateway = space.gatewayId!;
  const ownSpaces = registry
    .ofKind('parking')
    .filter((p) => p.gatewayId === gateway)
    .slice(0, 2);
  const foreignSpace = registry.ofKind('parking').find((p) => p.gatewayId !== gateway)!;
  const dir = mkdtempSync(join(tmpdir(), 'citybrain-auth-'));
  const secrets = new Map<string, string>();
  let auth: AuthPipeline;
  let pipeline: RunningPipeline;
  let mqttUrl: string;
  let tlsPort: number;
  let api: string;
  const clients: MqttClient[] = [];

  const metrics = async () => (await fetch(`${api}/metrics`)).text();
  const as = async (id: string, extra: IClientOptions = {}) => {
    const c = await mqtt.connectAsync(mqttUrl, { clientId: id, username: id, password: secrets.get(id), reconnectPeriod: 0, ...extra });
    clients.push(c);
    return c;
  };
  /** The CONNACK return code of a refused connection (0 if it was accepted). */
  const connackCode = async (options: IClientOptions): Promise<number> => {
    try {
      const c = await mqtt.connectAsync(mqttUrl, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
      await c.endAsync();
      return 0;
    } catch (error) {
      return (error as { code?: number }).code ?? -1;
    }
  };
  const wellTopic = (w: typeof baotu) => `city/${w.district}/groundwater/${w.nodeId}/telemetry`;

  beforeAll(async () => {
    selfSignedCert(dir);
    tlsPort = await freePort();
    auth = await authPipeline(
      registry,
      [
        { type: 'device', id: baotu.nodeId },
        { type: 'device', id: otherWell.nodeId },
        { type: 'gateway', id: gateway },
      ],
      () => ({
        MQTT_TLS_PORT: String(tlsPort),
        MQTT_TLS_CERT: join(dir, 'cert.pem'),
        MQTT_TLS_KEY: join(dir, 'key.pem'),
        MAX_BATCH_BYTES: '16384',
        MQTT_MAX_PACKET_BYTES: '65536',
        API_TOKENS: `viewer:${VIEWER},crew:${CREW},admin:${ADMIN}`,
        ALERT_HOLD_S: '0',
        EVAL_INTERVAL_MS: '200',
      }),
      dir,
    );
    ({ pipeline, mqttUrl, api } = auth);
    for (const [id, secret] of auth.secrets) secrets.set(id, secret);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    await auth?.close();
  });

  it('refuses a connection without valid credentials: CONNACK not authorized, counted, never the password in errors', async () => {
    const before = metricValue(await metrics(), 'citybrain_mqtt_refused_total', { cause: 'bad-credentials' });
    expect(await connackCode({ clientId: 'anon-1' })).toBe(5);
    expect(await connackCode({ clientId: baotu.nodeId, username: baotu.nodeId, password: 'wrong-password' })).toBe(5);
    expect(await connackCode({ clientId: 'SL-NOBODY', username: 'SL-NOBODY', password: secrets.get(baotu.nodeId)! })).toBe(5);
    // MQTT 5 says the same with its reason code: 0x87 not authorized.
    expect(await connackCode({ clientId: baotu.nodeId, username: baotu.nodeId, password: 'wrong-password', protocolVersion: 5 })).toBe(
      0x87,
    );
    expect(metricValue(await metrics(), 'citybrain_mqtt_refused_total', { cause: 'bad-credentials' })).toBe(before + 4);
    // Valid credentials but another client id: no device may take over another's session (MQTT 5: 0x85).
    expect(await connackCode({ clientId: otherWell.nodeId, username: baotu.nodeId, password: secrets.get(baotu.nodeId)! })).toBe(2);
    expect(
      await connackCode({ clientId: otherWell.nodeId, username: baotu.nodeId, password: secrets.get(baotu.nodeId)!, protocolVersion: 5 }),
    ).toBe(0x85);
    // Keep-alive 0 (a half-open connection would never be noticed) is refused too.
    expect(await connackCode({ clientId: baotu.nodeId, username: baotu.nodeId, password: secrets.get(baotu.nodeId)!, keepalive: 0 })).toBe(
      2,
    );
    expect(metricValue(await metrics(), 'citybrain_mqtt_refused_total', { cause: 'client-id' })).toBe(2);
    expect(metricValue(await metrics(), 'citybrain_mqtt_refused_total', { cause: 'keepalive' })).toBe(1);
  });

  it('accepts a device on its own topic and refuses, counts and does not forward its publish to another node', async () => {
    const device = await as(baotu.nodeId);
    const text = await metrics();
    const accepted = metricValue(text, 'citybrain_readings_accepted_total', { kind: 'groundwater' });
    const unauthorized = metricValue(text, 'citybrain_readings_rejected_total', { reason: 'unauthorized' });
    await device.publishAsync(wellTopic(baotu), JSON.stringify({ ts: testNow(), waterTableM: 28.6 }), { qos: 1 });
    // Acknowledged (resending would not help) but refused: the other well hears nothing of it.
    await device.publishAsync(wellTopic(otherWell), JSON.stringify({ ts: testNow(), waterTableM: 20.1 }), { qos: 1 });
    const after = await metrics();
    expect(metricValue(after, 'citybrain_readings_accepted_total', { kind: 'groundwater' })).toBe(accepted + 1);
    expect(metricValue(after, 'citybrain_readings_rejected_total', { reason: 'unauthorized' })).toBe(unauthorized + 1);
    expect(device.connected).toBe(true);
    const other = (await (
      await fetch(`${api}/api/v1/nodes/${otherWell.nodeId}`, { headers: { authorization: `Bearer ${VIEWER}` } })
    ).json()) as { latest?: unknown };
    expect(other.latest ?? null).toBeNull();
  });

  it("restricts subscriptions to the device's own topics", async () => {
    const device = await as(otherWell.nodeId);
    // A refused filter gets a failure SUBACK (0x80), which mqtt.js reports as an error; the connection stays.
    const subscribe = (filter: string) =>
      device.subscribeAsync(filter).then(
        (g) => g[0]!.qos,
        () => 128,
      );
    expect(await subscribe(`city/+/+/${otherWell.nodeId}/#`)).toBe(0);
    for (const filter of ['city/#', `city/+/+/${baotu.nodeId}/telemetry`, '$SYS/#', '#']) expect(await subscribe(filter)).toBe(128);
    expect(device.connected).toBe(true);
  });

  it("keeps a gateway batch's own nodes and rejects (and counts) the entry for a node behind another gateway", async () => {
    const gw = await as(gateway);
    const text = await metrics();
    const accepted = metricValue(text, 'citybrain_readings_accepted_total', { kind: 'parking' });
    const unauthorized = metricValue(text, 'citybrain_readings_rejected_total', { reason: 'unauthorized' });
    const entry = (nodeId: string) => ({ nodeId, kind: 'parking', ts: testNow(), status: 'occupied' });
    await gw.publishAsync(
      `city/gateways/${gateway}/batch`,
      JSON.stringify({ readings: [entry(ownSpaces[0]!.nodeId), entry(foreignSpace.nodeId), entry(ownSpaces[1]!.nodeId)] }),
      { qos: 1 },
    );
    // Another gateway's batch topic is refused as a whole.
    await gw.publishAsync(`city/gateways/${foreignSpace.gatewayId}/batch`, JSON.stringify({ readings: [entry(foreignSpace.nodeId)] }), {
      qos: 1,
    });
    const after = await metrics();
    expect(metricValue(after, 'citybrain_readings_accepted_total', { kind: 'parking' })).toBe(accepted + 2);
    expect(metricValue(after, 'citybrain_readings_rejected_total', { reason: 'unauthorized' })).toBe(unauthorized + 2);
    const foreign = (await (
      await fetch(`${api}/api/v1/nodes/${foreignSpace.nodeId}`, { headers: { authorization: `Bearer ${VIEWER}` } })
    ).json()) as { latest?: unknown };
    expect(foreign.latest ?? null).toBeNull();
  });

  it('connects over TLS with the certificate as trust anchor, and publishes', async () => {
    const accepted = metricValue(await metrics(), 'citybrain_readings_accepted_total', { kind: 'groundwater' });
    const c = await mqtt.connectAsync(`mqtts://127.0.0.1:${tlsPort}`, {
      clientId: baotu.nodeId,
      username: baotu.nodeId,
      password: secrets.get(baotu.nodeId),
      ca: readFileSync(join(dir, 'cert.pem')),
      rejectUnauthorized: true,
      reconnectPeriod: 0,
    });
    clients.push(c);
    await c.publishAsync(wellTopic(baotu), JSON.stringify({ ts: testNow(), waterTableM: 28.5 }), { qos: 1 });
    expect(metricValue(await metrics(), 'citybrain_readings_accepted_total', { kind: 'groundwater' })).toBe(accepted + 1);
    await c.endAsync();
  });

  it('lets a second connection with the same client id take over the session, counting one client', async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => undefined)));
    await waitFor(async () => metricValue(await metrics(), 'citybrain_mqtt_clients') === 0, 3000, 'no clients');
    const first = await as(otherWell.nodeId);
    const closed = new Promise<void>((resolve) => first.once('close', () => resolve()));
    const second = await as(otherWell.nodeId);
    await closed;
    await waitFor(async () => metricValue(await metrics(), 'citybrain_mqtt_clients') === 1, 3000, 'one client after takeover');
    await second.publishAsync(wellTopic(otherWell), JSON.stringify({ ts: testNow(), waterTableM: 28.4 }), { qos: 1 });
    await second.endAsync();
    await waitFor(async () => metricValue(await metrics(), 'citybrain_mqtt_clients') === 0, 3000, 'no clients after both left');
  });

  it('closes a connection announcing a packet over MQTT_MAX_PACKET_BYTES before it arrives', async () => {
    const device = await as(baotu.nodeId);
    const closed = new Promise<void>((resolve) => device.once('close', () => resolve()));
    device.publish(wellTopic(baotu), Buffer.alloc(100_000, 0x20), { qos: 0 });
    await closed;
    expect(metricValue(await metrics(), 'citybrain_mqtt_refused_total', { cause: 'packet-too-large' })).toBe(1);
  });

  it('drops a client that stays silent past 1.5x its keep-alive', async () => {
    // A raw CONNECT (keep-alive 1 s) and then silence: mqtt.js would ping, a dead device does not.
    const id = baotu.nodeId;
    const password = secrets.get(id)!;
    const body = Buffer.concat([
      Buffer.from([0, 4]),
      Buffer.from('MQTT'),
      Buffer.from([4, 0xc2, 0, 1]), // protocol 3.1.1, flags user+pass+clean, keep-alive 1 s
      ...[id, id, password].map((s) => Buffer.concat([Buffer.from([0, Buffer.byteLength(s)]), Buffer.from(s)])),
    ]);
    const socket = connectTcp(pipeline.mqttPort, '127.0.0.1');
    const started = Date.now();
    let connack: Buffer | undefined;
    socket.on('data', (d) => (connack ??= d));
    socket.write(Buffer.concat([Buffer.from([0x10, body.length]), body]));
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    expect(connack?.subarray(0, 4)).toEqual(Buffer.from([0x20, 2, 0, 0])); // accepted, then dropped for silence
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
  });

  it('API: acknowledging needs a token (401), a viewer may not (403), a crew may (200)', async () => {
    const device = await as(baotu.nodeId);
    const ts = testNow();
    for (let i = 0; i < 5; i++)
      await device.publishAsync(wellTopic(baotu), JSON.stringify({ ts: ts + (i + 1) * 1000, waterTableM: 27.5 }), { qos: 1 });
    const viewer = { authorization: `Bearer ${VIEWER}` };
    expect((await fetch(`${api}/api/v1/alerts?state=firing`)).status).toBe(401);
    const alert = await waitFor(
      async () => {
        const body = (await (await fetch(`${api}/api/v1/alerts?state=firing`, { headers: viewer })).json()) as {
          items: { id: string; alertname: string; labels: Record<string, string> }[];
        };
        return body.items.find((a) => a.alertname === 'GroundwaterBelowLine' && a.labels.well === 'Baotu Spring');
      },
      5000,
      'GroundwaterBelowLine',
    );
    const ack = (headers: Record<string, string>) => fetch(`${api}/api/v1/alerts/${alert.id}/ack`, { method: 'POST', headers });
    const anonymous = await ack({});
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    expect((await ack({ authorization: 'Bearer not-a-real-token-at-all' })).status).toBe(401);
    expect((await ack(viewer)).status).toBe(403);
    const crew = await ack({ authorization: `Bearer ${CREW}` });
    expect(crew.status).toBe(200);
    expect((await crew.json()) as { state: string; acknowledgedBy: string }).toMatchObject({
      state: 'acknowledged',
      acknowledgedBy: 'crew-token',
    });
  });

  it('API admin: credential counts and reload for admin only, never a hash', async () => {
    expect((await fetch(`${api}/api/v1/admin/credentials`, { headers: { authorization: `Bearer ${CREW}` } })).status).toBe(403);
    const res = await fetch(`${api}/api/v1/admin/credentials`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({ entries: 3, devices: 2, gateways: 1, disabled: 0 });
    expect(text).not.toMatch(/salt|hash|scrypt/);
    // Revoke the gateway in the file and reload: it can no longer connect.
    const file = JSON.parse(readFileSync(join(dir, 'credentials.json'), 'utf8')) as { entries: { id: string; disabled?: boolean }[] };
    file.entries.find((e) => e.id === gateway)!.disabled = true;
    writeFileSync(join(dir, 'credentials.json'), JSON.stringify(file));
    const reload = await fetch(`${api}/api/v1/admin/credentials/reload`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(reload.status).toBe(200);
    expect(await reload.json()).toMatchObject({ disabled: 1, gateways: 0 });
    expect(await connackCode({ clientId: gateway, username: gateway, password: secrets.get(gateway)! })).toBe(5);
    // A broken file is refused with the file and entry named; the credentials in force stay.
    writeFileSync(
      join(dir, 'credentials.json'),
      JSON.stringify({
        version: 1,
        entries: [
          {
            type: 'device',
            id: 'X',
            secret: { alg: 'scrypt', N: 3000, r: 8, p: 1, salt: 'AAAAAAAAAAAAAAAAAAAAAA==', hash: 'AAAAAAAAAAAAAAAAAAAAAA==' },
          },
        ],
      }),
    );
    const broken = await fetch(`${api}/api/v1/admin/credentials/reload`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(broken.status).toBe(422);
    expect(((await broken.json()) as { message: string }).message).toMatch(
      /credentials\.json: 1 invalid entry:\nentry 0 \(X\): secret\.N: must be a power of two/,
    );
    expect(await connackCode({ clientId: baotu.nodeId, username: baotu.nodeId, password: secrets.get(baotu.nodeId)! })).toBe(0);
  });
});
