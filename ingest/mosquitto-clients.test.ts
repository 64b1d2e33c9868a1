import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCity } from '../core/index.js';
import { defaultKinds } from '../core/kinds/modules.js';
import { mosquittoClients, runClient, type MosquittoClients } from '../infra/fixtures/mosquitto-clients.js';
import { freePort } from '../infra/process.js';
import { authPipeline, type AuthPipeline } from '../test/auth-pipeline.js';
import { testNow } from '../test/clock.js';
import { metricValue, waitFor } from '../test/helpers.js';
import { selfSignedCert } from '../test/tls.js';

const VERSIONS = ['mqttv5', 'mqttv311', 'mqttv31'] as const;
const LISTENERS = ['tcp', 'tls'] as const;

/**
 * Acceptance of MQTT 5 beside 3.1 and 3.1.1 with clients nobody here wrote: Debian's
 * `mosquitto_pub` and `mosquitto_sub`, at QoS 0, 1 and 2, on the plain and the TLS listener, with
 * authentication on. Every reading must arrive in the API.
 */
describe('Debian mosquitto clients, MQTT 3.1 / 3.1.1 / 5, TCP and TLS, authentication on', () => {
  const registry = generateCity(defaultKinds());
  const well = registry.ofKind('groundwater').find((w) => !w.gatewayId)!;
  const otherWell = registry.ofKind('groundwater').find((w) => !w.gatewayId && w.nodeId !== well.nodeId)!;
  const space = registry.ofKind('parking')[0]!;
  const gateway = space.gatewayId!;
  const dir = mkdtempSync(join(tmpdir(), 'citybrain-mosquitto-'));
  let clients: MosquittoClients;
  let auth: AuthPipeline;
  let cert: string;
  let tlsPort: number;
  const topicOf = (n: { district: string; kind: string; nodeId: string }) => `city/${n.district}/${n.kind}/${n.nodeId}/telemetry`;
  /** Readings get increasing event times, each a second after the last, all in the past. */
  let next = testNow() - 3_600_000;
  const nextTs = () => (next += 1_000);

  /** Connection arguments of `id` (client id = username) on a listener. */
  const login = (id: string, listener: (typeof LISTENERS)[number], version: (typeof VERSIONS)[number]) => [
    '-h',
    '127.0.0.1',
    ...(listener === 'tls' ? ['-p', String(tlsPort), '--cafile', cert] : ['-p', String(auth.pipeline.mqttPort)]),
    '-V',
    version,
    '-i',
    id,
    '-u',
    id,
    '-P',
    auth.secrets.get(id)!,
  ];
  const rejectedCounts = async () => {
    const text = await (await fetch(`${auth.api}/metrics`)).text();
    return {
      'bad-json': metricValue(text, 'citybrain_readings_rejected_total', { reason: 'bad-json' }),
      unauthorized: metricValue(text, 'citybrain_readings_rejected_total', { reason: 'unauthorized' }),
    };
  };
  const latest = async (nodeId: string) =>
    ((await (await fetch(`${auth.api}/api/v1/nodes/${nodeId}`)).json()) as { latest?: { ts?: number } }).latest;

  beforeAll(async () => {
    clients = await mosquittoClients();
    ({ cert } = selfSignedCert(dir));
    tlsPort = await freePort();
    auth = await authPipeline(
      registry,
      [
        { type: 'device', id: well.nodeId },
        { type: 'device', id: space.nodeId },
        { type: 'gateway', id: gateway },
      ],
      () => ({ MQTT_TLS_PORT: String(tlsPort), MQTT_TLS_CERT: cert, MQTT_TLS_KEY: join(dir, 'key.pem') }),
      dir,
    );
  }, 120_000);
  afterAll(async () => auth?.close());

  for (const version of VERSIONS)
    for (const listener of LISTENERS)
      it(`${version} over ${listener}: mosquitto_pub at QoS 0, 1 and 2, every reading in the API`, async () => {
        for (const qos of [0, 1, 2]) {
          const ts = nextTs();
          const run = await runClient(clients.pub, [
            ...login(well.nodeId, listener, version),
            '-q',
            String(qos),
            '-t',
            topicOf(well),
            '-m',
            JSON.stringify({ ts, waterTableM: 28.5 }),
            '-d',
          ]);
          expect(run.code, run.output).toBe(0);
          if (qos === 1) expect(run.output).toMatch(/received PUBACK \(Mid: \d+, RC:0\)/);
          if (qos === 2) expect(run.output).toMatch(/received PUBCOMP/);
          await waitFor(async () => (await latest(well.nodeId))?.ts === ts, 10_000, `${version}/${listener} QoS ${qos} reading in the API`);
        }
      });

  for (const listener of LISTENERS)
    it(`mqttv5 over ${listener}: bad JSON is refused with reason code 0x99, another node's topic with 0x87, at QoS 1 and 2 (mosquitto_pub -d)`, async () => {
      const before = await rejectedCounts();
      const publish = (qos: number, topic: string, payload: string) =>
        runClient(clients.pub, [...login(well.nodeId, listener, 'mqttv5'), '-q', String(qos), '-t', topic, '-m', payload, '-d']);
      for (const qos of [1, 2]) {
        // mosquitto_pub -d shows a PUBACK's reason code (RC:153 = 0x99, RC:135 = 0x87), and for both
        // PUBACK and PUBREC says why the publish failed, in mosquitto's words for the code.
        const bad = await publish(qos, topicOf(well), '{"ts": 1, "waterTableM":');
        if (qos === 1) expect(bad.output).toMatch(/received PUBACK \(Mid: \d+, RC:153\)/);
        expect(bad.output).toMatch(/Publish \d+ failed: Payload format invalid/);
        const foreign = await publish(qos, topicOf(otherWell), JSON.stringify({ ts: nextTs(), waterTableM: 20 }));
        if (qos === 1) expect(foreign.output).toMatch(/received PUBACK \(Mid: \d+, RC:135\)/);
        expect(foreign.output).toMatch(/Publish \d+ failed: Not authorized/);
        // A failure code ends a QoS 2 exchange: no PUBREL, no PUBCOMP.
        if (qos === 2) for (const run of [bad, foreign]) expect(run.output).not.toMatch(/PUBREL|PUBCOMP/);
      }
      // Still dead-lettered and counted like any rejection.
      const after = await rejectedCounts();
      expect(after['bad-json']).toBe(before['bad-json'] + 2);
      expect(after.unauthorized).toBe(before.unauthorized + 2);
      expect(await latest(otherWell.nodeId)).toBeUndefined();
    });

  it('mqttv311 and mqttv31: the same refused publishes are acknowledged with success (those versions have no reason codes)', async () => {
    for (const version of ['mqttv311', 'mqttv31'] as const) {
      const run = await runClient(clients.pub, [
        ...login(well.nodeId, 'tcp', version),
        '-q',
        '1',
        '-t',
        topicOf(otherWell),
        '-m',
        '{}',
        '-d',
      ]);
      expect(run.code, run.output).toBe(0);
      expect(run.output).toMatch(/received PUBACK \(Mid: \d+, RC:0\)/);
    }
  });

  for (const version of VERSIONS)
    it(`${version}: mosquitto_sub receives what the gateway publishes for its node, over TLS`, async () => {
      const ts = nextTs();
      const payload = JSON.stringify({ ts, status: 'occupied' });
      // Line-buffered: mosquitto_sub's log of the SUBACK must be seen before it exits.
      const sub = spawn('stdbuf', [
        '-oL',
        clients.sub,
        ...login(space.nodeId, 'tls', version),
        '-q',
        '1',
        '-t',
        `city/+/+/${space.nodeId}/telemetry`,
        '-C',
        '1',
        '-W',
        '30',
        '-d',
      ]);
      let output = '';
      sub.stdout.on('data', (d: Buffer) => (output += d.toString()));
      sub.stderr.on('data', (d: Buffer) => (output += d.toString()));
      const exited = new Promise<number>((resolve) => sub.once('close', (code) => resolve(code ?? -1)));
      await waitFor(() => output.includes('received SUBACK'), 10_000, 'SUBACK of mosquitto_sub');
      const run = await runClient(clients.pub, [...login(gateway, 'tcp', version), '-q', '1', '-t', topicOf(space), '-m', payload]);
      expect(run.code, run.output).toBe(0);
      expect(await exited, output).toBe(0);
      expect(output).toContain(payload);
      await waitFor(async () => (await latest(space.nodeId))?.ts === ts, 10_000, 'the reading in the API');
    });
});
