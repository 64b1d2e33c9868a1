import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { startPipeline, type RunningPipeline } from '../bin/pipeline.js';
import {
  generateCity,
  MemoryTransport,
  seededRandom,
  TOPICS,
  type Producer,
  type RegistryNode,
  type RejectedRecord,
} from '../core/index.js';
import { testNow } from '../test/clock.js';
import { metricValue, testConfig, waitFor } from '../test/helpers.js';
import { connectPacket, DISCONNECT, PINGREQ, publishPacket, subscribePacket } from '../test/mqtt-raw.js';
import { acceptedIn, processedIn, rejectedIn } from '../test/reference.js';
import { defaultKinds } from '../core/kinds/modules.js';

/**
 * Fuzzing the embedded broker, deterministically (fixed seeds; a failure reproduces):
 * 1. raw TCP: well-formed MQTT 3.1.1 and 5 packet sequences (CONNECT, PUBLISH QoS 0/1, SUBSCRIBE,
 *    PINGREQ, DISCONNECT) with random bits flipped, truncated, padded with garbage or split into chunks, plus
 *    pure noise, one connection each;
 * 2. generated JSON-ish payloads (random values over the readings' field names, mutated valid
 *    readings, deep nesting, non-UTF-8 bytes) published at QoS 1 to real nodes' topics with mqtt.js.
 * Throughout, a well-behaved device publishes valid readings. The broker must not crash, that
 * device's connection must stay up with every reading processed, and the counts must add up:
 * sent = processed + rejected (rejected including readings the processors dead-letter as late).
 * `sent` is kept by the test, never read from the counters it is compared with: the publishes its
 * own clients had acknowledged, plus the raw sessions' publishes that reached the bridge, which only
 * the broker's parser can know; those are counted as the dead letters the log's `telemetry.dlq`
 * receives from clients other than the test's own (read by wrapping the log's producer).
 * Readings are stamped in simulated time (test/clock.ts), the pipeline's clock is the test clock.
 */
const registry = generateCity(defaultKinds());
const all = [...registry.all()];
/** The well-behaved device's nodes, apart from the fuzz targets (no repeats of node and time). */
const steady = all.slice(-200);
const targets = all.slice(0, all.length - 200);
const topicOf = (n: RegistryNode) => `city/${n.district}/${n.kind}/${n.nodeId}/telemetry`;

const RAW_CONNECTIONS = 1500;
const RAW_PARALLEL = 40;
const JSON_PAYLOADS = 2000;

type Rand = () => number;
const int = (rand: Rand, n: number) => Math.floor(rand() * n);
const pick = <T>(rand: Rand, list: readonly T[]): T => list[int(rand, list.length)]!;

/** Flips `count` random bits of a copy of `b`. */
function flipBits(rand: Rand, b: Buffer, count: number): Buffer {
  const out = Buffer.from(b);
  for (let i = 0; i < count && out.length > 0; i++) {
    const at = int(rand, out.length);
    out[at] = out[at]! ^ (1 << int(rand, 8));
  }
  return out;
}

/**
 * One fuzz connection's bytes. Publishes go to unknown nodes or carry JSON without its closing
 * brace, so no flip pattern short of several aligned ones can make a valid reading of them.
 */
function rawSession(rand: Rand, i: number): Buffer {
  const mode = int(rand, 10);
  if (mode === 0) return Buffer.from(Array.from({ length: 1 + int(rand, 300) }, () => int(rand, 256))); // noise
  const node = targets[i % targets.length]!;
  // Half the sessions speak MQTT 5 (properties in CONNECT, PUBLISH and SUBSCRIBE; now and then a
  // Session Expiry Interval or a Topic Alias, which the broker does not offer).
  const version = rand() < 0.5 ? 5 : 4;
  const v5 = (extra: object) => (version === 5 && rand() < 0.3 ? extra : {});
  const packets: Buffer[] = [
    connectPacket({
      clientId: `fuzz-${i}`,
      version,
      ...v5({ sessionExpiry: int(rand, 600) }),
      keepalive: 1 + int(rand, 120),
      clean: rand() < 0.5,
      ...(rand() < 0.2 ? { username: `u${i}`, password: 'p' } : {}),
      ...(rand() < 0.2 ? { will: { topic: `city/x/streetlight/FUZZ-${i}/status`, payload: 'offline' } } : {}),
    }),
  ];
  for (let k = int(rand, 5); k > 0; k--) {
    const choice = int(rand, 5);
    if (choice === 0)
      packets.push(
        publishPacket({
          topic: `city/${node.district}/${node.kind}/FUZZ-${i}-${k}/telemetry`,
          payload: JSON.stringify({ ts: testNow(), powerState: 'on' }),
          qos: int(rand, 2) as 0 | 1,
          id: 1 + k,
          version,
          ...v5({ topicAlias: int(rand, 3) }),
        }),
      );
    else if (choice === 1)
      packets.push(
        publishPacket({
          topic: topicOf(node),
          payload: `{"ts":${testNow()},"powerState":"on"`,
          qos: int(rand, 2) as 0 | 1,
          id: 1 + k,
          retain: rand() < 0.3,
          version,
        }),
      );
    else if (choice === 2)
      packets.push(subscribePacket(1 + k, pick(rand, ['#', 'city/#', '$SYS/#', 'city/+/+/+/telemetry', '']), 0, version));
    else if (choice === 3) packets.push(PINGREQ);
    else packets.push(publishPacket({ topic: `$SYS/fuzz/${i}`, payload: 'x', qos: 1, id: 1 + k, version }));
  }
  if (rand() < 0.5) packets.push(DISCONNECT);
  let bytes: Buffer = Buffer.concat(packets);
  if (mode <= 6) bytes = flipBits(rand, bytes, 1 + int(rand, 8));
  else if (mode === 7)
    bytes = bytes.subarray(0, int(rand, bytes.length)); // truncated
  else if (mode === 8)
    bytes = Buffer.concat([bytes, Buffer.from(Array.from({ length: 1 + int(rand, 64) }, () => int(rand, 256)))]); // trailing garbage
  else bytes = Buffer.concat([packets[0]!, flipBits(rand, Buffer.concat(packets.slice(1)), 1 + int(rand, 3))]); // good CONNECT, then damage
  return bytes;
}

/** Sends one fuzz session in 1-3 chunks and waits until the broker closes it (or 300 ms pass). */
function sendRaw(port: number, bytes: Buffer, rand: Rand): Promise<void> {
  const cuts = [0, ...Array.from({ length: int(rand, 3) }, () => int(rand, bytes.length)).sort((a, b) => a - b), bytes.length];
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    const timer = setTimeout(() => socket.destroy(), 300);
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.on('data', () => {});
    socket.on('connect', () => {
      // Fire and forget: each chunk in its own turn of the event loop. Nothing here rejects: a write
      // to a socket the broker has closed surfaces as its 'error' event, handled above.
      void (async () => {
        for (let c = 0; c + 1 < cuts.length; c++) {
          if (socket.destroyed) return;
          socket.write(bytes.subarray(cuts[c], cuts[c + 1]));
          await new Promise((r) => setImmediate(r));
        }
      })();
    });
  });
}

const FIELDS = [
  ...registry.kinds.profiles().flatMap((p) => Object.keys(p.fields)),
  'ts',
  'seq',
  'battery',
  'rssi',
  'powerState',
  'dim',
  'powerW',
  'voltageV',
  'currentA',
  'pf',
  'energyWh',
  'faults',
  'waterTableM',
  'tempC',
  'laeq',
  'lamax',
  'lamin',
  'l10',
  'l50',
  'l90',
  'periodS',
  'status',
  'heartbeat',
  'batteryV',
  'nodeId',
  'kind',
  '__proto__',
  'constructor',
  'prototype',
  '',
];

function randomValue(rand: Rand, depth: number): unknown {
  const now = testNow();
  switch (int(rand, depth > 3 ? 9 : 11)) {
    case 0:
      return null;
    case 1:
      return rand() < 0.5;
    case 2:
      return pick(rand, [
        0,
        -1,
        1,
        0.5,
        100,
        101,
        -273.15,
        1e308,
        -1e308,
        2 ** 53,
        Number.MAX_SAFE_INTEGER + 2,
        now,
        now - 86_400_000,
        now + 10_000_000,
      ]);
    case 3:
      return rand() * 200 - 50;
    case 4:
      return pick(rand, [
        'on',
        'off',
        'low',
        'occupied',
        'free',
        'ON',
        '',
        ' ',
        'NaN',
        'Infinity',
        '1e400',
        new Date(now).toISOString(),
        '2024-02-30T25:61:00Z',
        '\u0000',
        '\ud800',
        'null',
      ]);
    case 5:
      return 'x'.repeat(int(rand, 200));
    case 6:
      return now - int(rand, 3_600_000);
    case 7:
      return String(now);
    case 8:
      return -int(rand, 1e9);
    case 9:
      return Array.from({ length: int(rand, 4) }, () => randomValue(rand, depth + 1));
    default:
      return Object.fromEntries(Array.from({ length: int(rand, 6) }, () => [pick(rand, FIELDS), randomValue(rand, depth + 1)]));
  }
}

/** A valid reading of node `n`: its kind module's sample. */
function validReading(n: RegistryNode, ts: number): Record<string, unknown> {
  return { ts, ...registry.kinds.get(n.kind)!.sample(n, ts, 0.5) };
}

/** A JSON-ish payload for node `n`: random structure, a mutated valid reading, or stranger bytes. */
function jsonish(rand: Rand, n: RegistryNode): Buffer {
  const now = testNow();
  const mode = int(rand, 8);
  if (mode <= 2) {
    const body = Object.fromEntries(Array.from({ length: 1 + int(rand, 8) }, () => [pick(rand, FIELDS), randomValue(rand, 0)]));
    if (rand() < 0.7) body.ts = randomValue(rand, 4);
    return Buffer.from(JSON.stringify(body));
  }
  const valid = Buffer.from(
    JSON.stringify({
      ...validReading(n, now - int(rand, 600_000)),
      ...(rand() < 0.3 ? { [pick(rand, FIELDS)]: randomValue(rand, 2) } : {}),
    }),
  );
  if (mode === 3) return valid; // may well be valid: then it must be accepted and processed
  if (mode === 4) return flipBits(rand, valid, 1 + int(rand, 4));
  if (mode === 5) {
    const at = int(rand, valid.length);
    return Buffer.concat([
      valid.subarray(0, at),
      Buffer.from(pick(rand, ['"', '}', '{', ',', ':', '\\', '\\u', 'NaN', '\u00ff', '\n'])),
      valid.subarray(at + int(rand, 3)),
    ]);
  }
  if (mode === 6) {
    const depth = 1 + int(rand, 6000);
    return Buffer.from(
      rand() < 0.5
        ? `${'['.repeat(depth)}${']'.repeat(depth)}`
        : `${'{"a":'.repeat(Math.min(depth, 3000))}1${'}'.repeat(Math.min(depth, 3000))}`,
    );
  }
  return Buffer.from(Array.from({ length: int(rand, 400) }, () => int(rand, 256)));
}

describe('fuzzed MQTT packets and payloads', () => {
  let pipeline: RunningPipeline | undefined;
  const clients: MqttClient[] = [];

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    await pipeline?.close();
  });

  it('bit-flipped packets and random payloads: the broker stays up, a valid device keeps working, sent = processed + rejected', async () => {
    // The log, with its producer wrapped to count the dead letters it holds, per publishing client.
    const transport = new MemoryTransport();
    const deadLetters = { byClient: new Map<string, number>(), late: 0 };
    const produce = transport.producer.bind(transport);
    transport.producer = async (): Promise<Producer> => {
      const inner = await produce();
      return {
        async send(topic, messages) {
          await inner.send(topic, messages);
          if (topic !== TOPICS.dlq) return;
          for (const m of messages) {
            const r = JSON.parse(m.value.toString()) as RejectedRecord;
            if (r.reason === 'late') deadLetters.late++;
            else deadLetters.byClient.set(r.clientId ?? '', (deadLetters.byClient.get(r.clientId ?? '') ?? 0) + 1);
          }
        },
      };
    };
    const ownClients = ['fuzz-test-steady', 'fuzz-test-json', 'fuzz-test-after'];
    const rejectedFrom = (clientId: string) => deadLetters.byClient.get(clientId) ?? 0;
    /** Rejected at the door, from the raw sessions (any client id but the test's own mqtt.js clients). */
    const rawRejected = () => [...deadLetters.byClient].reduce((sum, [client, n]) => (ownClients.includes(client) ? sum : sum + n), 0);
    pipeline = await startPipeline({
      config: testConfig({ MQTT_AUTH: 'off', EVAL_INTERVAL_MS: '500' }),
      registry,
      transport,
      defaultMetrics: false,
      clock: testNow,
    });
    const port = pipeline.mqttPort;
    const api = `http://127.0.0.1:${pipeline.httpPort}`;
    const metrics = async () => (await fetch(`${api}/metrics`)).text();
    const totals = (text: string) => ({
      accepted: acceptedIn(text),
      rejected: rejectedIn(text),
      processed: processedIn(text),
    });

    // The well-behaved device, publishing all along.
    const device = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'fuzz-test-steady', clean: true, reconnectPeriod: 500 });
    clients.push(device);
    let deviceDrops = 0;
    device.on('close', () => deviceDrops++);
    let steadySent = 0;
    let fuzzing = true;
    const steadyBase = testNow() - 120_000;
    const steadyLoop = (async () => {
      while (fuzzing || steadySent < 100) {
        const n = steady[steadySent % steady.length]!;
        await device.publishAsync(topicOf(n), JSON.stringify(validReading(n, steadyBase + steadySent)), { qos: 1 });
        steadySent++;
        await sleep(10);
      }
    })();

    // 1. Raw packets, RAW_PARALLEL connections at a time.
    const rawRand = seededRandom(20261126);
    const sessions = Array.from({ length: RAW_CONNECTIONS }, (_, i) => rawSession(rawRand, i));
    let next = 0;
    await Promise.all(
      Array.from({ length: RAW_PARALLEL }, async () => {
        while (next < sessions.length) {
          const i = next++;
          await sendRaw(port, sessions[i]!, rawRand);
        }
      }),
    );

    // 2. JSON-ish payloads to real nodes, each node once (no repeats of node and time to dedupe).
    const jsonRand = seededRandom(7_070);
    const fuzzer = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'fuzz-test-json', clean: true, reconnectPeriod: 500 });
    clients.push(fuzzer);
    const payloads = Array.from({ length: JSON_PAYLOADS }, (_, i) => ({
      topic: topicOf(targets[i]!),
      payload: jsonish(jsonRand, targets[i]!),
    }));
    for (let i = 0; i < payloads.length; i += 100)
      await Promise.all(payloads.slice(i, i + 100).map((p) => fuzzer.publishAsync(p.topic, p.payload, { qos: 1 })));

    fuzzing = false;
    await steadyLoop;

    // The broker is alive: a new device connects and publishes.
    const after = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'fuzz-test-after', clean: true, reconnectPeriod: 0 });
    clients.push(after);
    const probe = targets[targets.length - 1]!;
    await after.publishAsync(topicOf(probe), JSON.stringify(validReading(probe, testNow())), { qos: 1 });

    // sent = processed + rejected: the steady device's readings, the probe and the JSON fuzz (each
    // acknowledged to the test's clients, counted by the test), and the raw publishes that reached
    // the bridge (all rejected: none of them can be a valid reading), counted in the log's DLQ.
    // "rejected" includes readings the processors dead-lettered as late (accepted at the door).
    const sentOf = () => steadySent + 1 + JSON_PAYLOADS + rawRejected();
    let end = totals('');
    let late = 0;
    await waitFor(
      async () => {
        const text = await metrics();
        end = totals(text);
        late = metricValue(text, 'citybrain_readings_rejected_total', { reason: 'late' });
        return end.processed + end.rejected >= sentOf() && end.processed + late === end.accepted && late === deadLetters.late;
      },
      30_000,
      'every publish counted',
    ).catch((e: Error) => {
      throw new Error(
        `${e.message}: ${JSON.stringify({ end, late, sent: sentOf(), steadySent, deadLetters: { late: deadLetters.late, byClient: Object.fromEntries(deadLetters.byClient) } })}`,
      );
    });
    const sent = sentOf();
    expect(end.processed + end.rejected).toBe(sent);
    // Accepted at the door: everything the test's clients sent but what the DLQ shows was refused
    // from them (only JSON fuzz may be), so no raw publish was accepted.
    expect(rejectedFrom('fuzz-test-steady') + rejectedFrom('fuzz-test-after')).toBe(0);
    expect(end.accepted).toBe(steadySent + 1 + JSON_PAYLOADS - rejectedFrom('fuzz-test-json'));
    expect(end.processed + late).toBe(end.accepted);
    expect(late).toBe(deadLetters.late);
    expect(deviceDrops).toBe(0);

    // Every steady reading was processed: each steady node's latest reading is the last one sent to it.
    const lastTs = new Map<string, number>();
    for (let k = 0; k < steadySent; k++) lastTs.set(steady[k % steady.length]!.nodeId, steadyBase + k);
    const latest = await Promise.all(
      [...lastTs.keys()].map(
        async (id) => [id, ((await (await fetch(`${api}/api/v1/nodes/${id}`)).json()) as { latest?: { ts: number } }).latest?.ts] as const,
      ),
    );
    expect(Object.fromEntries(latest)).toEqual(Object.fromEntries(lastTs));
    const jsonAccepted = end.accepted - steadySent - 1;
    console.log(
      `fuzz: ${RAW_CONNECTIONS} raw sessions (${rawRejected()} of their publishes reached the bridge, all rejected), ${JSON_PAYLOADS} JSON-ish payloads (${jsonAccepted} accepted, ${late} of them late), steady device ${steadySent} readings, none lost; totals ${JSON.stringify(end)}`,
    );
  }, 120_000);
});
