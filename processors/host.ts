import type { Logger } from 'pino';
import {
  GROUPS,
  parseJson,
  KIND_NAMES,
  partitionFor,
  TOPICS,
  type Config,
  type Consumer,
  type Kind,
  type NodeOf,
  type NodeQuery,
  type NodeRegistry,
  type NodeView,
  type PipelineEvent,
  type PipelineMetrics,
  type Producer,
  type RegistryNode,
  type StreamRecord,
  type StreamTransport,
  type TelemetryRecord,
  type TopicPartition,
} from '../core/index.js';
import { EventClock } from './clock.js';
import { Deduplicator } from './dedup.js';
import { GroundwaterProcessor } from './groundwater/processor.js';
import { NodeHealth } from './health/processor.js';
import { LightingProcessor } from './lighting/processor.js';
import { NoiseProcessor } from './noise/processor.js';
import { ParkingProcessor } from './parking/processor.js';
import type { PartitionPartial } from './partial.js';
import { Listeners, Ticker } from './ticker.js';
import type { EvalContext, KindProcessor } from './types.js';

export interface HostOptions {
  registry: NodeRegistry;
  config: Config;
  transport: StreamTransport;
  producer: Producer;
  metrics: PipelineMetrics;
  logger: Logger;
  /** Partition count of `telemetry.raw` (nodes are placed by key, as ingest placed them). */
  rawPartitions: number;
  /**
   * `processor`: a member of the processor group, owning some partitions, publishing their
   * partials. `replica`: reads every partition for its own views (the API process on Kafka),
   * publishes and counts nothing.
   */
  role: 'processor' | 'replica';
  groupId?: string;
  wall?: () => number;
}

type Processors = { [K in Kind]: KindProcessor<K> };

/**
 * Runs the kind processors and node health over the partitions of `telemetry.raw` this member
 * owns (and counts rejections from `telemetry.dlq`); on a timer publishes each owned
 * partition's partial to `metrics.partials`; serves node views.
 */
export class ProcessorHost {
  readonly #o: HostOptions;
  readonly #wall: () => number;
  readonly #clock: EventClock;
  readonly #kinds: Processors;
  readonly #health = new NodeHealth();
  readonly #dedup = new Deduplicator();
  readonly #listeners = new Listeners<PipelineEvent>();
  readonly #ticker: Ticker;
  /** Registry nodes of each raw partition, by kind. */
  readonly #byPartition: Map<number, { all: RegistryNode[]; byKind: Map<Kind, RegistryNode[]> }>;
  readonly #owned = new Set<string>();
  #consumer: Consumer | null = null;

  constructor(options: HostOptions) {
    this.#o = options;
    this.#wall = options.wall ?? Date.now;
    this.#ticker = new Ticker(() => this.#publishPartials(), (error) => this.#o.logger.error({ err: error }, 'evaluation failed'));
    this.#clock = new EventClock(this.#wall);
    this.#kinds = {
      streetlight: new LightingProcessor(),
      groundwater: new GroundwaterProcessor(options.config.GROUNDWATER_HYSTERESIS_M),
      noise: new NoiseProcessor(),
      parking: new ParkingProcessor(),
    };
    this.#byPartition = new Map();
    for (const node of options.registry.all()) {
      const p = partitionFor(node.nodeId, options.rawPartitions);
      let entry = this.#byPartition.get(p);
      if (!entry) this.#byPartition.set(p, (entry = { all: [], byKind: new Map() }));
      entry.all.push(node);
      let list = entry.byKind.get(node.kind);
      if (!list) entry.byKind.set(node.kind, (list = []));
      list.push(node);
    }
  }

  async start(): Promise<void> {
    const key = (tp: TopicPartition) => `${tp.topic}:${tp.partition}`;
    this.#consumer = await this.#o.transport.consume({
      groupId: this.#o.groupId ?? GROUPS.processors,
      topics: this.#o.role === 'processor' ? [TOPICS.raw, TOPICS.dlq] : [TOPICS.raw],
      fromBeginning: true,
      // A partition taken over from a dead instance is first re-read up to the group's position:
      // processing is idempotent, so that rebuilds its nodes' state exactly.
      rebuildOnAssign: true,
      onBatch: async (batch) => this.#onBatch(batch.topic, batch.records, batch.replay === true),
      onAssigned: (tps) => tps.forEach((tp) => this.#owned.add(key(tp))),
      onRevoked: (tps) => tps.forEach((tp) => this.#owned.delete(key(tp))),
    });
    if (this.#o.role === 'processor') {
      await this.tick();
      this.#ticker.start(this.#o.config.EVAL_INTERVAL_MS);
    }
  }

  async stop(): Promise<void> {
    await this.#ticker.stop();
    await this.#consumer?.stop();
    this.#consumer = null;
  }

  /** `replay`: records re-read to rebuild state; applied, but neither counted nor streamed again. */
  #onBatch(topic: string, records: StreamRecord[], replay: boolean): void {
    const { registry, metrics, logger } = this.#o;
    if (topic === TOPICS.dlq) {
      for (const r of records) {
        const rejected = parseJson(r.value) as { reason?: string; receivedAt?: number } | undefined;
        if (rejected?.reason) this.#health.noteRejected(rejected.reason, rejected.receivedAt ?? r.timestamp);
      }
      return;
    }
    const processed = new Map<Kind, number>();
    for (const r of records) {
      const record = parseJson(r.value) as TelemetryRecord | undefined;
      const node = record && registry.get(record.nodeId);
      if (!record || !node || node.kind !== record.kind) {
        // Ingest validated it; a mismatch here means the registries differ between stages.
        logger.warn({ topic, partition: r.partition, offset: r.offset, key: r.key }, 'record skipped: unreadable or not in this registry');
        continue;
      }
      if (record.type === 'reading') {
        if (this.#dedup.seen(record.nodeId, record.reading.ts)) continue;
        this.#clock.observe(record.reading.ts);
        (this.#kinds[record.kind] as KindProcessor).apply(record, node as NodeOf<Kind>);
        if (!replay) {
          processed.set(record.kind, (processed.get(record.kind) ?? 0) + 1);
          if (this.#listeners.size > 0) this.#listeners.emit({ type: 'reading', nodeId: record.nodeId, kind: record.kind, district: record.district, ts: record.reading.ts });
        }
      }
      this.#health.apply(record, this.#clock.now());
    }
    if (this.#o.role === 'processor') for (const [kind, n] of processed) metrics.processed.inc({ kind }, n);
  }

  #ctx(): EvalContext {
    return { now: this.#clock.now(), since: this.#clock.since, config: this.#o.config, registry: this.#o.registry };
  }

  /** Publishes the partial of every owned partition. Never overlaps itself. */
  tick(): Promise<void> {
    return this.#ticker.tick();
  }

  /** The partials of the partitions this member owns right now. */
  partials(): PartitionPartial[] {
    const ctx = this.#ctx();
    const out: PartitionPartial[] = [];
    for (const source of [...this.#owned].sort()) {
      const [topic, p] = [source.slice(0, source.lastIndexOf(':')), Number(source.slice(source.lastIndexOf(':') + 1))];
      if (topic === TOPICS.dlq) {
        out.push({ source, at: ctx.now, since: ctx.since, rejections: this.#health.rejections(this.#wall()), conditions: [] });
        continue;
      }
      const nodes = this.#byPartition.get(p);
      const partial: PartitionPartial = { source, at: ctx.now, since: ctx.since, kinds: {}, conditions: [] };
      for (const kind of KIND_NAMES) {
        const { section, conditions } = (this.#kinds[kind] as KindProcessor).partial((nodes?.byKind.get(kind) ?? []) as NodeOf<Kind>[], ctx);
        partial.kinds![kind] = section;
        partial.conditions.push(...conditions);
      }
      const health = this.#health.partial(nodes?.all ?? [], ctx);
      partial.health = health.section;
      partial.conditions.push(...health.conditions);
      out.push(partial);
    }
    return out;
  }

  async #publishPartials(): Promise<void> {
    const partials = this.partials();
    if (partials.length === 0) return;
    await this.#o.producer.send(TOPICS.partials, partials.map((p) => ({ key: p.source, value: Buffer.from(JSON.stringify(p)), timestamp: p.at })));
    if (this.#consumer) for (const [topic, lag] of Object.entries(await this.#consumer.lag())) this.#o.metrics.consumerLag.set({ topic }, lag);
  }

  // ---- node views -----------------------------------------------------------------------------

  ready(): boolean {
    return this.#consumer !== null;
  }

  #view(node: RegistryNode, ctx: EvalContext, detail: boolean): NodeView {
    const view: NodeView = { node, health: this.#health.view(node, ctx) };
    if (detail) Object.assign(view, (this.#kinds[node.kind] as KindProcessor).describe(node as NodeOf<Kind>, ctx));
    return view;
  }

  nodes(query: NodeQuery): { total: number; items: NodeView[] } {
    const ctx = this.#ctx();
    const items: NodeView[] = [];
    let total = 0;
    const candidates = query.kind ? this.#o.registry.ofKind(query.kind) : this.#o.registry.all();
    for (const node of candidates) {
      if (query.district && node.district !== query.district) continue;
      if (query.status && this.#health.online(node, ctx) !== (query.status === 'online')) continue;
      if (total >= query.offset && items.length < query.limit) items.push(this.#view(node, ctx, false));
      total++;
    }
    return { total, items };
  }

  node(nodeId: string): NodeView | undefined {
    const node = this.#o.registry.get(nodeId);
    return node && this.#view(node, this.#ctx(), true);
  }

  subscribe(listener: (event: PipelineEvent) => void): () => void {
    return this.#listeners.add(listener);
  }
}

