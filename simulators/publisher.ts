import { setTimeout as sleep } from 'node:timers/promises';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { localDayStart } from '../core/time/index.js';
import { withDefaults, type NodeRegistry } from '../core/index.js';
import { connectDevices, DeviceSink } from './device-connections.js';
import { SimulationEngine, selectNodes, type PublishSink, type SimLogger, type SimulationStats } from './engine.js';
import { lampsScheduledOn, citySun } from '../core/kinds/streetlight/model.js';
import { buildScenario, type ScenarioTuning } from './scenarios.js';

export type { SimLogger, SimulationStats } from './engine.js';

export interface SimulationOptions {
  /** Broker URL, e.g. mqtt://127.0.0.1:1883. */
  url: string;
  registry: NodeRegistry;
  /** Scenario name or `a+b` mix (default `normal`). */
  scenario?: string;
  /** Seed of every random-looking value (default 1). */
  seed?: number;
  /** Target readings per second (bad messages count too); 0 or absent: unlimited. */
  rate?: number;
  /** Simulated time runs this many times faster than the wall clock (default 1). */
  speed?: number;
  /** Simulated start time, epoch ms (default now). */
  start?: number;
  /** MQTT QoS of every publish (default 1). */
  qos?: 0 | 1;
  logger?: SimLogger;
  /** Simulate at most this many nodes of the registry (keeping the mix of kinds). */
  nodeLimit?: number;
  /** MQTT connections sharing the traffic (default 4; gateways and direct nodes spread over them). */
  connections?: number;
  /** Readings per gateway batch at most (default 200). */
  maxBatch?: number;
  /** Wall milliseconds a gateway collects readings before sending a batch (default 1000). */
  gatewayFlushMs?: number;
  /** Every node reports once within this many simulated seconds of the start (default 5; 0: wait for its slot). */
  warmupS?: number;
  /**
   * Keep the simulated clock at most this many seconds ahead of the wall clock (ingest rejects
   * readings too far in the future); negative: that far behind it (a fast start that then runs in
   * real time from a moment in the past, as the demo's history does).
   */
  maxAheadS?: number;
  /** Messages awaiting acknowledgement at most (default 2000). */
  maxInflight?: number;
  /** Scenario knobs (dark circuit count, bad share, outage timing, ...). */
  tuning?: Partial<ScenarioTuning>;
  /** MQTT client id prefix (default `citysim`), credentials. */
  clientIdPrefix?: string;
  username?: string;
  password?: string;
  /** Per-device secrets (id -> secret; MQTT_AUTH=on): one connection per gateway and per node without one, each logged in as itself; `connections`, `username` and `password` are then unused. */
  credentials?: ReadonlyMap<string, string>;
  /** MQTT connect timeout (default 10 s; 30 s for the per-device connections of `credentials`). */
  connectTimeoutMs?: number;
}

/** The simulation's defaults; those of `start` (now) and `connectTimeoutMs` (it depends on `credentials`) are set in startSimulation. */
export const SIMULATION_DEFAULTS = {
  scenario: 'normal',
  seed: 1,
  speed: 1,
  qos: 1 as 0 | 1,
  connections: 4,
  maxBatch: 200,
  gatewayFlushMs: 1000,
  warmupS: 5,
  maxInflight: 2000,
  clientIdPrefix: 'citysim',
};

export interface Simulation {
  stop(): Promise<void>;
  stats(): SimulationStats;
  /** Changes the rate limit (readings per second; 0: unlimited) while running. */
  setRate(rate: number): void;
  /** Simulated time of the readings being published now (epoch ms; behind the simulated clock when the rate limits). */
  now(): number;
}

/** A few MQTT connections; each route (gateway or direct node) always uses the same one. */
class MqttSink implements PublishSink {
  readonly #clients: MqttClient[];
  readonly #qos: 0 | 1;

  constructor(clients: MqttClient[], qos: 0 | 1) {
    this.#clients = clients;
    this.#qos = qos;
  }

  publish(route: number, topic: string, payload: string, done: (error?: Error) => void): void {
    const client = this.#clients[route % this.#clients.length]!;
    client.publish(topic, payload, { qos: this.#qos }, (error) => done(error ?? undefined));
  }
}

async function connectAll(
  url: string,
  count: number,
  options: Pick<SimulationOptions, 'username' | 'password'> & { clientIdPrefix: string; connectTimeoutMs: number },
  seed: number,
): Promise<MqttClient[]> {
  const prefix = options.clientIdPrefix;
  const tag = `${(seed >>> 0).toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const base: IClientOptions = {
    clean: true,
    reconnectPeriod: 1000,
    connectTimeout: options.connectTimeoutMs,
    keepalive: 30,
    ...(options.username !== undefined ? { username: options.username } : {}),
    ...(options.password !== undefined ? { password: options.password } : {}),
  };
  const settled = await Promise.allSettled(
    Array.from({ length: count }, (_, i) => connectAsync(url, { ...base, clientId: `${prefix}-${tag}-${i}`.slice(0, 23) }, false)),
  );
  const clients = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed || clients.some((c) => !c.connected)) {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    const reason = failed ? ((failed.reason as Error)?.message ?? String(failed.reason)) : 'connection closed';
    throw new Error(`simulator: cannot connect to ${url}: ${reason}`);
  }
  return clients;
}

/**
 * Starts the simulated city publishing to an MQTT broker. Resolves once every connection is up;
 * rejects if the broker cannot be reached.
 */
export async function startSimulation(options: SimulationOptions): Promise<Simulation> {
  const o = { ...options, ...withDefaults(SIMULATION_DEFAULTS, options) };
  const { seed, speed } = o;
  if (!(speed > 0)) throw new Error('simulator: speed must be > 0');
  const start = options.start ?? Date.now();
  const connectTimeoutMs = options.connectTimeoutMs ?? (options.credentials ? 30_000 : 10_000);
  const nodes = selectNodes(options.registry, options.nodeLimit);
  const scenario = buildScenario(o.scenario, nodes, {
    seed,
    start,
    tuning: options.tuning,
    kinds: options.registry.kinds,
  });
  const devices = options.credentials
    ? await connectDevices(options.url, nodes, options.credentials, {
        clean: true,
        reconnectPeriod: 1000,
        connectTimeout: connectTimeoutMs,
        keepalive: 30,
      })
    : undefined;
  const connections = devices ? devices.size : Math.max(1, Math.min(o.connections, Math.max(1, nodes.length)));
  const clients = devices ? [...devices.values()] : await connectAll(options.url, connections, { ...o, connectTimeoutMs }, seed);
  const log = options.logger;
  for (const c of clients) {
    c.on('error', (error) => log?.warn({ err: error.message, clientId: c.options.clientId }, 'mqtt client error'));
    c.on('offline', () => log?.warn({ clientId: c.options.clientId }, 'mqtt client offline, reconnecting'));
  }

  const wallStart = Date.now();
  const engine = new SimulationEngine(
    {
      registry: options.registry,
      nodes,
      scenario,
      seed,
      rate: options.rate && options.rate > 0 ? options.rate : Infinity,
      speed,
      start,
      wallStart,
      warmupS: o.warmupS,
      maxBatch: Math.max(1, o.maxBatch),
      gatewayFlushMs: o.gatewayFlushMs,
      maxInflight: Math.max(1, o.maxInflight),
      ...(options.maxAheadS !== undefined ? { maxAheadMs: options.maxAheadS * 1000 } : {}),
      ...(log ? { logger: log } : {}),
    },
    devices ? new DeviceSink(devices, options.registry, o.qos) : new MqttSink(clients, o.qos),
  );
  log?.info(
    {
      url: options.url,
      scenario: scenario.name,
      nodes: engine.nodeCount,
      gateways: engine.gatewayCount,
      connections,
      speed,
      rate: options.rate || null,
      start: new Date(start).toISOString(),
      effects: asJson(scenario.effects),
      outage: scenario.outage?.gatewayId,
      badShare: scenario.badShare,
    },
    'simulation started',
  );

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const loop = () => {
    timer = undefined;
    if (stopped) return;
    let wait: number;
    try {
      wait = engine.step(Date.now());
    } catch (error) {
      log?.error({ err: (error as Error).message }, 'simulation step failed');
      wait = 1000;
    }
    timer = setTimeout(loop, Math.max(0, wait));
  };
  loop();

  let stopping: Promise<void> | undefined;
  return {
    stats: () => engine.stats(),
    setRate: (rate: number) => engine.setRate(rate, Date.now()),
    now: () => engine.genClock,
    stop: () => {
      stopping ??= (async () => {
        stopped = true;
        if (timer) clearTimeout(timer);
        engine.step(Date.now());
        engine.flushAll();
        // Wait (bounded) for outstanding acknowledgements, then close the connections.
        const deadline = Date.now() + 5_000;
        while (engine.inflight > 0 && Date.now() < deadline) await sleep(10);
        await Promise.all(clients.map((c) => c.endAsync(engine.inflight > 0).catch(() => undefined)));
        log?.info({ ...engine.stats(), badByKind: undefined }, 'simulation stopped');
      })();
      return stopping;
    },
  };
}

const HOUR = 3_600_000;
const DAY = 86_400_000;

/**
 * A simulated start time at which the city's lamps are scheduled on: `now` when it is night in the
 * city (sunset..sunrise) with at least two hours of it left, otherwise 22:30 local of the most
 * recent evening (lamps on, and GB 3096 night as well; at least about 6 h of night ahead).
 */
export function nightStart(now: number = Date.now()): number {
  if (lampsScheduledOn(now)) {
    const sun = citySun(now);
    const sunrise = now < sun.sunrise ? sun.sunrise : citySun(now + DAY).sunrise;
    if (sunrise - now >= 2 * HOUR) return now;
  }
  const tonight = localDayStart(now) + 22.5 * HOUR;
  return tonight <= now ? tonight : tonight - DAY;
}

/** A scenario's effects for a log line: sets as lists, maps as objects (large ones summarised by their size). */
function asJson(value: unknown): unknown {
  if (value instanceof Map)
    return value.size > 20 ? { entries: value.size } : Object.fromEntries([...value].map(([k, v]) => [k, asJson(v)]));
  if (value instanceof Set) return value.size > 20 ? { items: value.size } : [...value];
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asJson(v)]));
  return value;
}
