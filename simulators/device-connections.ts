import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import type { NodeRegistry, RegistryNode } from '../core/index.js';
import type { PublishSink } from './engine.js';

/**
 * One MQTT connection per identity, as a city with MQTT_AUTH=on sees it: each gateway and each node
 * without a gateway logs in as itself (client id = username = its id, password = its secret).
 */
export async function connectDevices(
  url: string,
  nodes: readonly RegistryNode[],
  secrets: ReadonlyMap<string, string>,
  base: IClientOptions,
): Promise<Map<string, MqttClient>> {
  const ids = [...new Set(nodes.map((n) => n.gatewayId ?? n.nodeId))];
  const missing = ids.filter((id) => !secrets.has(id));
  if (missing.length > 0)
    throw new Error(`simulator: no credentials for ${missing.length} device(s)/gateway(s), e.g. ${missing.slice(0, 3).join(', ')}`);
  const settled = await inWaves(ids, LOGINS_IN_FLIGHT, (id) =>
    connectAsync(url, { ...base, clientId: id, username: id, password: secrets.get(id)! }, false),
  );
  const clients = new Map<string, MqttClient>();
  settled.forEach((s, i) => s.status === 'fulfilled' && clients.set(ids[i]!, s.value));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all([...clients.values()].map((c) => c.endAsync(true).catch(() => undefined)));
    throw new Error(
      `simulator: cannot connect to ${url} with device credentials: ${(failed.reason as Error)?.message ?? String(failed.reason)}`,
    );
  }
  return clients;
}

/**
 * First logins cost the broker a password check each, and it refuses logins beyond its check queue
 * (MQTT_AUTH_QUEUE_MAX, default 128) with "server unavailable": a city of more devices logs in a
 * bounded number at a time.
 */
const LOGINS_IN_FLIGHT = 32;

/** `run` over every item with at most `limit` running at once; results in item order. */
async function inWaves<T, R>(items: readonly T[], limit: number, run: (item: T) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
  const results = new Array<PromiseSettledResult<R>>(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) {
      try {
        results[i] = { status: 'fulfilled', value: await run(items[i]!) };
      } catch (reason) {
        results[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Publishes each message on the connection of whoever sends it: a batch on its gateway's, a node's
 * topic on its gateway's (or its own). A topic naming a node the registry does not know (a bad
 * payload) goes out on some connection and is refused by the broker as unauthorized.
 */
export class DeviceSink implements PublishSink {
  readonly #clients: Map<string, MqttClient>;
  readonly #registry: NodeRegistry;
  readonly #fallback: MqttClient;
  readonly #qos: 0 | 1;

  constructor(clients: Map<string, MqttClient>, registry: NodeRegistry, qos: 0 | 1) {
    this.#clients = clients;
    this.#registry = registry;
    this.#fallback = clients.values().next().value!;
    this.#qos = qos;
  }

  publish(_route: number, topic: string, payload: string, done: (error?: Error) => void): void {
    const parts = topic.split('/');
    const node = parts[1] === 'gateways' ? undefined : this.#registry.get(parts[3] ?? '');
    const id = parts[1] === 'gateways' ? parts[2]! : (node?.gatewayId ?? node?.nodeId ?? '');
    const client = this.#clients.get(id) ?? this.#fallback;
    client.publish(topic, payload, { qos: this.#qos }, (error) => done(error ?? undefined));
  }
}
