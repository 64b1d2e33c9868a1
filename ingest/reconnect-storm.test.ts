import { afterAll, describe, expect, it } from 'vitest';
import { startPipeline, type RunningPipeline } from '../bin/pipeline.js';
import { generateCity, type RegistryNode } from '../core/index.js';
import { metricValue, testConfig, waitFor } from '../test/helpers.js';
import { RawDevice } from '../test/mqtt-raw.js';
import { acceptedIn, processedIn, rejectedIn } from '../test/reference.js';
import { testNow } from '../test/clock.js';
import { defaultKinds } from '../core/kinds/modules.js';

/**
 * 5,000 devices lose their connections at once (a network blip in front of the broker) and all
 * reconnect at once, a second later. Each device publishes while it is cut off: the publish waits
 * and is sent on reconnect, like mqtt.js does. Devices come from 25 source addresses (as behind
 * NATs), so the default per-address connection rate limit applies as in the field.
 *
 * Each device connects with clean = false and subscribes to its own command topic, so the broker
 * holds session state for it: its first CONNACK must say no session was present, and every
 * reconnection's CONNACK that it was (session present = 1): the device is back in its persistent
 * session, not in a fresh one. (aedes reports a session as present only when it holds
 * subscriptions for the client id, so a publish-only device would always get 0.)
 *
 * The devices are raw MQTT clients (test/mqtt-raw.ts): a few hundred bytes each, where 5,000 mqtt.js
 * clients cost ~400 MB and most of a core on the shared test machine.
 */
const DEVICES = 5000;
const ADDRESSES = 25;
const registry = generateCity(defaultKinds(), { lamps: 3800 }); // 5,072 nodes of the built-in kinds, then the profile kinds'
const nodes = [...registry.all()].filter((n) => !registry.kinds.get(n.kind)!.profile).slice(0, DEVICES);

const topic = (n: RegistryNode) => `city/${n.district}/${n.kind}/${n.nodeId}/telemetry`;
/** A reading of node `n` at `ts`: its kind module's sample. */
function reading(n: RegistryNode, ts: number): string {
  return JSON.stringify({ ts, ...registry.kinds.get(n.kind)!.sample(n, ts, 0.5) });
}

describe('reconnect storm on the embedded broker', () => {
  let pipeline: RunningPipeline | undefined;
  let devices: RawDevice[] = [];

  afterAll(async () => {
    await Promise.all(devices.map((d) => d.end()));
    await pipeline?.close();
  }, 60_000);

  it('5,000 devices dropped at once reconnect at once, resend and publish: every reading processed, sent = processed + rejected', async () => {
    pipeline = await startPipeline({
      // The connection limits spelled out as shipped (per source address): 200 devices per address fit.
      config: testConfig({ MQTT_AUTH: 'off', MQTT_CONNECT_RATE_PER_IP: '50', MQTT_CONNECT_BURST_PER_IP: '500', EVAL_INTERVAL_MS: '1000' }),
      registry,
      defaultMetrics: false,
      clock: testNow,
    });
    const port = pipeline.mqttPort;
    const metrics = async () => (await fetch(`http://127.0.0.1:${pipeline!.httpPort}/metrics`)).text();
    devices = nodes.map(
      (n, i) => new RawDevice({ port, clientId: n.nodeId, localAddress: `127.0.${1 + (i % ADDRESSES)}.1`, reconnectMs: 1000 }),
    );
    const t0 = Date.now();
    /** Readings are stamped in simulated time (test/clock.ts); t0 only times the timeline. */
    const ts0 = testNow();
    const timeline: string[] = [];
    const mark = (what: string) => timeline.push(`${what} ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    await Promise.all(devices.map((d) => d.connect()));
    mark('5,000 connected');
    const subacks = await Promise.all(
      devices.map((d, i) => d.subscribe(`city/${nodes[i]!.district}/${nodes[i]!.kind}/${nodes[i]!.nodeId}/cmd`)),
    );
    expect(subacks.filter((code) => code !== 1)).toEqual([]);
    await Promise.all(devices.map((d, i) => d.publish(topic(nodes[i]!), reading(nodes[i]!, ts0))));
    mark('first readings acknowledged');
    await waitFor(
      async () => metricValue(await metrics(), 'citybrain_mqtt_clients') === DEVICES,
      30_000,
      `${DEVICES} clients on the broker`,
    );

    // The blip: every connection gone at once; each device publishes while cut off.
    for (const d of devices) d.drop();
    const cutOff = devices.map((d, i) => d.publish(topic(nodes[i]!), reading(nodes[i]!, ts0 + 1000)));
    await Promise.all(cutOff);
    mark('readings published while cut off acknowledged');
    expect(devices.filter((d) => d.connections < 2)).toHaveLength(0);
    expect(devices.filter((d) => !d.connected)).toHaveLength(0);
    // A new session at first, the persistent one on every reconnection (session present in the CONNACK).
    const wrongSession = devices.flatMap((d, i) => {
      const flags = d.sessionPresent.map((present) => (present ? 'present' : 'new'));
      const right = flags.length === d.connections && flags[0] === 'new' && flags.slice(1).every((f) => f === 'present');
      return right ? [] : [`${nodes[i]!.nodeId}: ${flags.join(',')}`];
    });
    expect(wrongSession.slice(0, 5), `${wrongSession.length} devices with wrong CONNACK session-present flags`).toEqual([]);
    // And the reconnected sessions carry new publishes.
    await Promise.all(devices.map((d, i) => d.publish(topic(nodes[i]!), reading(nodes[i]!, ts0 + 2000))));
    mark('third readings acknowledged');

    const sent = 3 * DEVICES;
    let text = '';
    await waitFor(async () => processedIn((text = await metrics())) === sent, 60_000, `${sent} readings processed`).catch((e: Error) => {
      throw new Error(`${e.message}; processed ${processedIn(text)} (${timeline.join(', ')})`);
    });
    mark('all processed');
    const accepted = acceptedIn(text);
    const rejected = rejectedIn(text);
    expect(accepted).toBe(sent);
    expect(rejected).toBe(0);
    expect(processedIn(text) + rejected).toBe(sent);
    expect(metricValue(text, 'citybrain_mqtt_clients')).toBe(DEVICES);
    // Every device is online in the API again.
    const kpis = await waitFor(
      async () => {
        const k = (await (await fetch(`http://127.0.0.1:${pipeline!.httpPort}/api/v1/kpis`)).json()) as { nodes: { online: number } };
        return k.nodes.online === DEVICES && k;
      },
      30_000,
      `${DEVICES} nodes online in the API`,
    );
    expect(kpis.nodes.online).toBe(DEVICES);
    const reconnections = devices.reduce((s, d) => s + d.connections, 0);
    console.log(
      `reconnect storm: ${timeline.join(', ')}; ${reconnections} connections in all (${reconnections - 2 * DEVICES} retries), ${devices.reduce((s, d) => s + d.errors, 0)} socket errors, refused by rate limit ${metricValue(text, 'citybrain_mqtt_refused_total', { cause: 'rate-limit' })}, rss ${Math.round(process.memoryUsage().rss / 1e6)} MB`,
    );
  }, 240_000);
});
