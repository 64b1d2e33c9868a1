import { performance } from 'node:perf_hooks';
import { DueHeap, type EventReporting, type NodeRegistry, type RegistryNode } from '../core/index.js';
import { seededRandom } from '../core/random.js';
import { hashString, unit } from './hash.js';
import { TokenBucket } from './token-bucket.js';
import type { ScenarioState, SimulationContext } from './models/context.js';
import { generateReading } from './models/index.js';
import { BAD_PAYLOAD_KINDS, batchTopic, makeBadPayload, telemetryTopic, type BadPayloadKind } from './scenarios.js';

/** Where messages go: an MQTT client pool in production, an array in tests. `route` picks the connection. */
export interface PublishSink {
  publish(route: number, topic: string, payload: string, done: (error?: Error) => void): void;
}

/** Minimal pino-compatible logger. */
export interface SimLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug?(obj: object, msg?: string): void;
}

export interface EngineOptions {
  registry: NodeRegistry;
  /** The nodes to simulate (a subset of the registry, or all of it). */
  nodes: readonly RegistryNode[];
  scenario: ScenarioState;
  seed: number;
  /** Readings (and bad messages) per second, Infinity for no limit. */
  rate: number;
  /** Simulated milliseconds per wall millisecond. */
  speed: number;
  /** Simulated start (epoch ms) and the wall time it corresponds to. */
  start: number;
  wallStart: number;
  /** The first reading of every node lands within this many simulated seconds (0: each node waits for its slot). */
  warmupS: number;
  /** Readings per gateway batch at most. */
  maxBatch: number;
  /** Wall milliseconds a gateway holds readings before sending them as one batch. */
  gatewayFlushMs: number;
  /** Messages awaiting acknowledgement at most; generation pauses above it. */
  maxInflight: number;
  /** When set, the simulated clock never runs more than this many ms ahead of the wall clock. */
  maxAheadMs?: number;
  logger?: SimLogger;
}

export interface SimulationStats {
  scenario: string;
  seed: number;
  nodes: number;
  gateways: number;
  speed: number;
  /** Readings per second asked for (null: unlimited). */
  rateLimit: number | null;
  /** Simulated start and current simulated time (epoch ms). */
  simStart: number;
  simNow: number;
  /** Wall seconds since the start. */
  elapsedS: number;
  /** Readings generated (including those still buffered by a gateway in outage). */
  generated: number;
  /** Readings published and acknowledged (direct and inside batches, replays included). */
  readings: number;
  /** Gateway batches published. */
  batches: number;
  /** Direct telemetry messages published. */
  direct: number;
  /** Bad messages published (bad-payloads), per kind too. */
  badPayloads: number;
  badByKind: Record<BadPayloadKind, number>;
  /** Readings replayed by a gateway after its outage, and readings it still holds. */
  replayed: number;
  buffered: number;
  /** Publishes that failed. */
  errors: number;
  inflight: number;
  /** How far (simulated seconds) generation is behind the simulated clock: > 0 means the rate or the broker limits. */
  lagS: number;
  /** Published readings per wall second, on average. */
  readingsPerS: number;
}

type BatchItem = Record<string, unknown>;
type Meta = { readings: number; kind: 'direct' | 'batch' | 'replay' | 'bad'; bad?: BadPayloadKind };

const STEP_BUDGET_MS = 25;

/**
 * The simulated city: a schedule of when each node reports next (in simulated time), the scenario's
 * reading models, gateways that batch (and may fail), a token bucket for the rate. `step(wallNow)`
 * does the work due at that wall time; the caller owns timers and transport.
 */
export class SimulationEngine {
  readonly #o: EngineOptions;
  readonly #sink: PublishSink;
  readonly #ctx: SimulationContext;
  readonly #nodes: readonly RegistryNode[];
  readonly #interval: Float64Array;
  readonly #phase: Float64Array;
  readonly #next: Float64Array;
  /** Per node: its kind's event reporting (absent: heartbeat only), when its state may next change, its last reported state. */
  readonly #events: (EventReporting | undefined)[];
  readonly #boundary: Float64Array;
  readonly #lastState: Float64Array;
  readonly #seq: Uint32Array;
  readonly #route: Uint32Array;
  readonly #gw: Int32Array;
  readonly #gateways: string[] = [];
  readonly #gwRoute: number[] = [];
  readonly #pending: BatchItem[][] = [];
  readonly #pendingSince: number[] = [];
  readonly #dirty = new Set<number>();
  readonly #heap: DueHeap;
  readonly #bucket: TokenBucket;
  readonly #badRand: () => number;
  readonly #outageGw: number;
  #outageBuffer: BatchItem[] = [];
  #outageLogged = false;
  #replayed = false;
  #badCounter = 0;
  #genClock: number;
  #simNow: number;
  #wallNow: number;
  #errorsLogged = 0;
  readonly #counts = {
    generated: 0,
    readings: 0,
    batches: 0,
    direct: 0,
    badPayloads: 0,
    replayed: 0,
    errors: 0,
    inflight: 0,
  };
  readonly #badByKind = Object.fromEntries(BAD_PAYLOAD_KINDS.map((k) => [k, 0])) as Record<BadPayloadKind, number>;

  constructor(options: EngineOptions, sink: PublishSink) {
    this.#o = options;
    this.#sink = sink;
    this.#ctx = { seed: options.seed, scenario: options.scenario, kinds: options.registry.kinds };
    this.#nodes = options.nodes;
    const n = this.#nodes.length;
    this.#interval = new Float64Array(n);
    this.#phase = new Float64Array(n);
    this.#next = new Float64Array(n);
    this.#events = this.#nodes.map((node) => options.registry.kinds.get(node.kind)?.events);
    this.#boundary = new Float64Array(n).fill(Infinity);
    this.#lastState = new Float64Array(n);
    this.#seq = new Uint32Array(n);
    this.#route = new Uint32Array(n);
    this.#gw = new Int32Array(n).fill(-1);
    this.#heap = new DueHeap(n);
    const rate = options.rate > 0 ? options.rate : Infinity;
    this.#bucket = new TokenBucket(rate, Number.isFinite(rate) ? Math.max(1, rate * 0.25) : 1, options.wallStart);
    this.#badRand = seededRandom(hashString('bad-payloads', options.seed));
    this.#simNow = options.start;
    this.#genClock = options.start;
    this.#wallNow = options.wallStart;

    const gwIndex = new Map<string, number>();
    const seed = options.seed;
    const start = options.start;
    const warmupMs = Math.max(0, options.warmupS * 1000);
    for (let i = 0; i < n; i++) {
      const node = this.#nodes[i]!;
      const h = hashString(node.nodeId, seed ^ 0x5eed);
      const interval = options.registry.expectedIntervalS(node) * 1000;
      this.#interval[i] = interval;
      // A device's counter does not restart with the simulator: start from its reporting slots since the epoch,
      // so a second run against a pipeline that restored its state is not taken for resent readings.
      this.#seq[i] = Math.floor(start / interval) % 2 ** 31;
      let phase: number;
      if (node.gatewayId) {
        // A gateway polls its nodes together: a per-gateway phase plus a short spread per node.
        let g = gwIndex.get(node.gatewayId);
        if (g === undefined) {
          g = this.#gateways.length;
          gwIndex.set(node.gatewayId, g);
          this.#gateways.push(node.gatewayId);
          this.#gwRoute.push(hashString(node.gatewayId, 0x7007));
          this.#pending.push([]);
          this.#pendingSince.push(0);
        }
        this.#gw[i] = g;
        this.#route[i] = this.#gwRoute[g]!;
        const gwPhase = unit(hashString(node.gatewayId, seed ^ 0x5eed), 1) * interval;
        phase = Math.floor(gwPhase + unit(h, 2) * Math.min(interval * 0.05, 10_000)) % interval;
      } else {
        this.#route[i] = hashString(node.nodeId, 0x7007);
        phase = Math.floor(unit(h, 2) * interval);
      }
      this.#phase[i] = phase;
      // Boot: a node whose slot is later than the warm-up window reports once early, so every node is known quickly.
      // Direct nodes (the few wells and stations) boot in the first fifth of the window, gateways over all of it.
      const bootMs = Math.floor(unit(h, 3) * warmupMs * (node.gatewayId ? 1 : 0.2));
      this.#next[i] = warmupMs > 0 && phase > warmupMs ? start + bootMs : start + phase;
      const events = this.#events[i];
      if (events) {
        this.#lastState[i] = events.state(node, start, this.#ctx);
        this.#boundary[i] = events.nextChange(node, start, seed);
      }
      this.#heap.push(i, Math.min(this.#next[i]!, this.#boundary[i]!));
    }
    const outage = options.scenario.outage;
    this.#outageGw = outage ? (gwIndex.get(outage.gatewayId) ?? -1) : -1;
  }

  get nodeCount(): number {
    return this.#nodes.length;
  }

  get gatewayCount(): number {
    return this.#gateways.length;
  }

  get inflight(): number {
    return this.#counts.inflight;
  }

  /** Simulated time of the readings being generated now (behind the simulated clock when the rate limits). */
  get genClock(): number {
    return this.#genClock;
  }

  /** Changes the rate limit (readings per second; Infinity or 0: none) from `wallNow` on. */
  setRate(rate: number, wallNow: number): void {
    const r = rate > 0 ? rate : Infinity;
    this.#bucket.setRate(r, Number.isFinite(r) ? Math.max(1, r * 0.25) : 1, wallNow);
  }

  /** The simulated time that corresponds to a wall time. */
  simTimeAt(wallNow: number): number {
    const t = this.#o.start + (wallNow - this.#o.wallStart) * this.#o.speed;
    return this.#o.maxAheadMs === undefined ? t : Math.min(t, wallNow + this.#o.maxAheadMs);
  }

  /**
   * Generates and publishes everything due by `wallNow` (within a time budget and the rate).
   * Returns how long the caller may wait before the next step (0: more work is ready now).
   */
  step(wallNow: number): number {
    this.#wallNow = wallNow;
    const simNow = Math.max(this.#simNow, this.simTimeAt(wallNow));
    this.#simNow = simNow;
    const bucket = this.#bucket;
    bucket.refill(wallNow);
    const budgetEnd = performance.now() + STEP_BUDGET_MS;
    const heap = this.#heap;
    let wait = -1;
    let processed = 0;
    while (heap.size > 0 && heap.peekTime() <= simNow) {
      if (!bucket.has(1)) {
        wait = Math.max(1, bucket.waitMs(1));
        break;
      }
      if (this.#counts.inflight >= this.#o.maxInflight) {
        wait = 5;
        break;
      }
      if ((++processed & 127) === 0 && performance.now() > budgetEnd) {
        wait = 0;
        break;
      }
      const due = heap.peekTime();
      const i = heap.pop();
      this.#handle(i, due);
    }
    this.#genClock = heap.size > 0 && heap.peekTime() <= simNow ? heap.peekTime() : simNow;
    const outage = this.#o.scenario.outage;
    if (outage && !this.#replayed && this.#genClock >= outage.to) this.#replay();
    this.#flushGateways(false);
    if (wait >= 0) return wait;
    // Idle: sleep until the next node is due (in wall time), capped so gateways flush on time.
    const nextDue = heap.peekTime();
    const untilDue = Number.isFinite(nextDue) ? (nextDue - simNow) / this.#o.speed : Infinity;
    return Math.max(1, Math.min(50, untilDue));
  }

  /** Sends every batch a gateway holds (not the buffer of a gateway in outage). */
  flushAll(): void {
    this.#flushGateways(true);
  }

  stats(): SimulationStats {
    const elapsedS = Math.max(0, this.#wallNow - this.#o.wallStart) / 1000;
    const rate = this.#bucket.rate;
    return {
      scenario: this.#o.scenario.name,
      seed: this.#o.seed,
      nodes: this.#nodes.length,
      gateways: this.#gateways.length,
      speed: this.#o.speed,
      rateLimit: Number.isFinite(rate) ? rate : null,
      simStart: this.#o.start,
      simNow: this.#simNow,
      elapsedS,
      ...this.#counts,
      badByKind: { ...this.#badByKind },
      buffered: this.#outageBuffer.length,
      lagS: Math.max(0, (this.#simNow - this.#genClock) / 1000),
      readingsPerS: elapsedS > 0 ? Math.round((this.#counts.readings / elapsedS) * 10) / 10 : 0,
    };
  }

  #handle(i: number, due: number): void {
    const node = this.#nodes[i]!;
    const events = this.#events[i];
    if (!events) {
      this.#emit(i, node, due, true);
      this.#advance(i, due);
      this.#heap.push(i, this.#next[i]!);
      return;
    }
    if (due === this.#next[i]) {
      this.#emit(i, node, due, true);
      this.#advance(i, due);
    } else if (events.state(node, due, this.#ctx) !== this.#lastState[i]) {
      this.#emit(i, node, due, false);
    }
    if (due >= this.#boundary[i]!) this.#boundary[i] = events.nextChange(node, due, this.#o.seed);
    this.#heap.push(i, Math.min(this.#next[i]!, this.#boundary[i]!));
  }

  #advance(i: number, due: number): void {
    const slot = this.#o.start + this.#phase[i]!;
    this.#next[i] = due < slot ? slot : due + this.#interval[i]!;
  }

  #emit(i: number, node: RegistryNode, t: number, heartbeat: boolean): void {
    const reading = { ...generateReading(node, t, this.#ctx, heartbeat), seq: this.#seq[i]! } as Record<string, unknown>;
    this.#seq[i] = this.#seq[i]! + 1;
    this.#bucket.take(1);
    this.#counts.generated++;
    const events = this.#events[i];
    if (events) this.#lastState[i] = events.state(node, t, this.#ctx);
    const g = this.#gw[i]!;
    if (g >= 0) {
      const item: BatchItem = { nodeId: node.nodeId, kind: node.kind, ...reading };
      const outage = this.#o.scenario.outage;
      if (g === this.#outageGw && outage && t >= outage.from && t < outage.to) {
        if (!this.#outageLogged) {
          this.#outageLogged = true;
          this.#o.logger?.info(
            { gatewayId: outage.gatewayId, from: new Date(outage.from).toISOString(), to: new Date(outage.to).toISOString() },
            'gateway outage: buffering',
          );
        }
        this.#outageBuffer.push(item);
      } else {
        const pending = this.#pending[g]!;
        if (pending.length === 0) this.#pendingSince[g] = this.#wallNow;
        pending.push(item);
        this.#dirty.add(g);
        if (pending.length >= this.#o.maxBatch) this.#flushGateway(g);
      }
    } else {
      this.#publish(this.#route[i]!, telemetryTopic(node.district, node.kind, node.nodeId), JSON.stringify(reading), {
        readings: 1,
        kind: 'direct',
      });
    }
    const badShare = this.#o.scenario.badShare;
    if (badShare > 0 && this.#badRand() < badShare) this.#sendBad(i, node, reading);
  }

  #sendBad(i: number, node: RegistryNode, reading: Record<string, unknown>): void {
    const n = this.#badCounter++;
    const kind = BAD_PAYLOAD_KINDS[n % BAD_PAYLOAD_KINDS.length]!;
    const count = this.#nodes.length;
    let other = this.#nodes[(i + 1 + Math.floor(this.#badRand() * Math.max(1, count - 1))) % count]!;
    if (kind === 'wrong-district') {
      for (let k = 1; k < Math.min(count, 256) && other.district === node.district; k++) other = this.#nodes[(i + k * 97) % count]!;
    }
    const { topic, payload } = makeBadPayload(kind, node, reading, other, n, this.#o.registry.kinds);
    this.#bucket.take(1);
    this.#publish(this.#route[i]!, topic, payload, { readings: 0, kind: 'bad', bad: kind });
  }

  #flushGateways(all: boolean): void {
    if (this.#dirty.size === 0) return;
    const now = this.#wallNow;
    for (const g of [...this.#dirty]) {
      if (all || now - this.#pendingSince[g]! >= this.#o.gatewayFlushMs) this.#flushGateway(g);
    }
  }

  #flushGateway(g: number): void {
    const items = this.#pending[g]!;
    this.#pending[g] = [];
    this.#dirty.delete(g);
    if (items.length === 0) return;
    this.#publish(this.#gwRoute[g]!, batchTopic(this.#gateways[g]!), JSON.stringify({ readings: items }), {
      readings: items.length,
      kind: 'batch',
    });
  }

  /** The gateway is back: it sends what it buffered, oldest first, in batches, with the original timestamps. */
  #replay(): void {
    this.#replayed = true;
    const g = this.#outageGw;
    const items = this.#outageBuffer;
    this.#outageBuffer = [];
    if (g < 0) return;
    this.#o.logger?.info({ gatewayId: this.#gateways[g], readings: items.length }, 'gateway outage over: replaying buffered readings');
    for (let k = 0; k < items.length; k += this.#o.maxBatch) {
      const chunk = items.slice(k, k + this.#o.maxBatch);
      this.#publish(this.#gwRoute[g]!, batchTopic(this.#gateways[g]!), JSON.stringify({ readings: chunk }), {
        readings: chunk.length,
        kind: 'replay',
      });
    }
  }

  #publish(route: number, topic: string, payload: string, meta: Meta): void {
    const c = this.#counts;
    c.inflight++;
    this.#sink.publish(route, topic, payload, (error) => {
      c.inflight--;
      if (error) {
        c.errors++;
        if (this.#errorsLogged++ < 10) this.#o.logger?.warn({ err: error.message, topic }, 'publish failed');
        return;
      }
      c.readings += meta.readings;
      switch (meta.kind) {
        case 'direct':
          c.direct++;
          break;
        case 'batch':
          c.batches++;
          break;
        case 'replay':
          c.batches++;
          c.replayed += meta.readings;
          break;
        case 'bad':
          c.badPayloads++;
          this.#badByKind[meta.bad!]++;
          break;
      }
    });
  }
}

/**
 * Up to `limit` nodes keeping the registry's mix of kinds (each kind its share, at least one of each
 * present kind), taken in registry order so circuits and lots stay whole.
 */
export function selectNodes(registry: NodeRegistry, limit?: number): RegistryNode[] {
  const all = [...registry.all()];
  if (limit === undefined || limit >= all.length) return all;
  const byKind = new Map<string, RegistryNode[]>();
  for (const n of all) {
    let list = byKind.get(n.kind);
    if (!list) byKind.set(n.kind, (list = []));
    list.push(n);
  }
  const quotas = new Map<string, number>();
  for (const [kind, list] of byKind)
    quotas.set(kind, Math.max(limit >= byKind.size ? 1 : 0, Math.round((list.length * limit) / all.length)));
  let total = [...quotas.values()].reduce((a, b) => a + b, 0);
  while (total > limit) {
    const [kind, q] = [...quotas].sort((a, b) => b[1] - a[1])[0]!;
    quotas.set(kind, q - 1);
    total--;
  }
  const chosen = new Set<RegistryNode>();
  for (const [kind, list] of byKind) for (const n of list.slice(0, quotas.get(kind))) chosen.add(n);
  return all.filter((n) => chosen.has(n));
}
