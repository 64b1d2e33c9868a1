import type { Logger } from 'pino';
import {
  GROUPS,
  parseJson,
  type KindCatalog,
  partitionFor,
  TOPICS,
  type Config,
  type Consumer,
  type Kind,
  type NodeOf,
  type NodeQuery,
  type NodeRegistry,
  type NodeView,
  type OutgoingMessage,
  type PipelineEvent,
  type AnyReadingRecord,
  rejectedRecord,
  type PipelineMetrics,
  type Producer,
  type RegistryNode,
  type StreamRecord,
  type StreamTransport,
  type TelemetryRecord,
  type TopicPartition,
} from '../core/index.js';
import { EventClock, PartitionWatermark } from './clock.js';
import { Deduplicator } from './dedup.js';
import { GroundwaterProcessor } from './groundwater/processor.js';
import { NodeHealth } from './health/processor.js';
import { LightingProcessor } from './lighting/processor.js';
import { NoiseProcessor } from './noise/processor.js';
import { ParkingProcessor } from './parking/processor.js';
import type { PartitionPartial } from './partial.js';
import { ProfileProcessor } from './profile/processor.js';
import { FileSnapshotStore, TopicSnapshotStore, type NodeSnapshot, type PartitionSnapshot, type SnapshotStore } from './state/index.js';
import { Listeners, Ticker } from './ticker.js';
import { appendAll, type EvalContext, type KindProcessor } from './types.js';

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
  /**
   * Where the processor role snapshots its partitions' state: default a compacted topic on Kafka,
   * files in STATE_DIR on the in-process log; null = no snapshots (rebuild from the log only).
   */
  stateStore?: SnapshotStore | null;
}

/** The default snapshot store of a transport: the log itself on Kafka, files when the log lives in memory. */
export function defaultStateStore(transport: StreamTransport, producer: Producer, config: Config): SnapshotStore {
  return transport.name === 'memory' ? new FileSnapshotStore(config.STATE_DIR) : new TopicSnapshotStore(transport, producer);
}

export type Processors = { [K in Kind]: KindProcessor<K> };

/** One stateful processor per built-in kind (typed: a kind added to KINDS and not here does not compile). */
export function createKindProcessors(config: Config): Processors {
  return {
    streetlight: new LightingProcessor(),
    groundwater: new GroundwaterProcessor(config.GROUNDWATER_HYSTERESIS_M),
    noise: new NoiseProcessor(),
    // A parking session can be corrected by a reading as late as the log still accepts.
    parking: new ParkingProcessor({ reorderWindowMs: config.ALLOWED_LATENESS_S * 1000 }),
  };
}

/** One processor per kind of the catalog: the built-in ones, and one per profile kind (the host's, and tools'). */
export function processorsFor(config: Config, kinds: KindCatalog): Map<string, KindProcessor> {
  const map = new Map<string, KindProcessor>(Object.entries(createKindProcessors(config)) as [string, KindProcessor][]);
  for (const profile of kinds.profiles()) map.set(profile.kind, new ProfileProcessor(profile));
  return map;
}

/** One node's part of a partition snapshot: its kind state, health and dedup memory; undefined when there is none. */
export function snapshotNode(kinds: ReadonlyMap<string, KindProcessor>, health: NodeHealth, dedup: Deduplicator, node: RegistryNode): NodeSnapshot | undefined {
  const state: NodeSnapshot = {};
  const k = kinds.get(node.kind)!.exportNode(node.nodeId);
  const h = health.exportNode(node.nodeId);
  const d = dedup.exportNode(node.nodeId);
  if (k !== undefined) state.k = k;
  if (h !== undefined) state.h = h;
  if (d !== undefined) state.d = d;
  return k !== undefined || h !== undefined || d !== undefined ? state : undefined;
}

/**
 * Runs the kind processors and node health over the partitions of `telemetry.raw` this member
 * owns (and counts rejections from `telemetry.dlq`); on a timer publishes each owned
 * partition's partial to `metrics.partials`; serves node views.
 */
export class ProcessorHost {
  readonly #o: HostOptions;
  readonly #wall: () => number;
  readonly #clock: EventClock;
  readonly #kinds: Map<string, KindProcessor>;
  readonly #health = new NodeHealth();
  readonly #dedup = new Deduplicator();
  readonly #listeners = new Listeners<PipelineEvent>();
  readonly #ticker: Ticker;
  /** Registry nodes of each raw partition, by kind. */
  readonly #byPartition: Map<number, { all: RegistryNode[]; byKind: Map<string, RegistryNode[]> }>;
  readonly #owned = new Set<string>();
  /** Event-time watermark per raw partition. */
  readonly #watermarks = new Map<number, PartitionWatermark>();
  /** Per raw partition: the next offset its state does not cover yet, and whether it changed since the last snapshot. */
  readonly #covered = new Map<number, { offset: number; dirty: boolean }>();
  /** Offsets restored snapshots cover, for the rebuild that follows them. */
  readonly #restored = new Map<number, number>();
  /** Raw partitions whose re-read since their last assignment has been logged (once each). */
  readonly #rereadLogged = new Set<number>();
  readonly #store: SnapshotStore | null;
  readonly #snapshots: Ticker;
  /** Batches and snapshots take turns: a snapshot never sees half of a batch. */
  #turn: Promise<unknown> = Promise.resolve();
  #snapshotting: Promise<void> = Promise.resolve();
  #consumer: Consumer | null = null;

  constructor(options: HostOptions) {
    this.#o = options;
    this.#wall = options.wall ?? Date.now;
    this.#ticker = new Ticker(() => this.#publishPartials(), (error) => this.#o.logger.error({ err: error }, 'evaluation failed'));
    this.#clock = new EventClock(this.#wall);
    this.#store = options.role === 'processor' ? (options.stateStore === undefined ? defaultStateStore(options.transport, options.producer, options.config) : options.stateStore) : null;
    this.#snapshots = new Ticker(() => this.snapshot(), (error) => this.#o.logger.error({ err: error }, 'state snapshot failed; the next one retries'));
    this.#kinds = processorsFor(options.config, options.registry.kinds);
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
      // A partition taken over (or after a restart) gets its latest state snapshot back, then is
      // re-read from the offset that snapshot covers up to the group's position (from the
      // beginning without one): processing is idempotent, so that rebuilds its nodes' state exactly.
      rebuildOnAssign: true,
      onBatch: (batch) => this.#inTurn(() => this.#onBatch(batch.topic, batch.partition, batch.records, batch.replay === true)),
      onAssigned: async (tps) => {
        for (const tp of tps) if (tp.topic === TOPICS.raw) this.#rereadLogged.delete(tp.partition);
        await this.#restore(tps.filter((tp) => tp.topic === TOPICS.raw).map((tp) => tp.partition));
        tps.forEach((tp) => this.#owned.add(key(tp)));
      },
      rebuildFrom: (tp) => (tp.topic === TOPICS.raw ? this.#restored.get(tp.partition) : undefined),
      onRevoked: async (tps) => {
        // The last word on a partition before another instance takes it over.
        const raw = tps.filter((tp) => tp.topic === TOPICS.raw).map((tp) => tp.partition);
        if (raw.length > 0) await this.snapshot(raw).catch((error: unknown) => this.#o.logger.error({ err: error, partitions: raw }, 'final state snapshot failed; the next owner rebuilds from an older one'));
        tps.forEach((tp) => this.#owned.delete(key(tp)));
        for (const tp of tps) if (tp.topic === TOPICS.dlq) this.#health.forgetRejections(tp.partition);
        for (const p of raw) {
          this.#covered.delete(p);
          this.#watermarks.delete(p); // a later owner's records move it on: it comes back with the next restore
        }
      },
    });
    if (this.#o.role === 'processor') {
      await this.tick();
      this.#ticker.start(this.#o.config.EVAL_INTERVAL_MS);
      if (this.#store) this.#snapshots.start(this.#o.config.STATE_SNAPSHOT_INTERVAL_MS);
    }
  }

  async stop(): Promise<void> {
    await this.#ticker.stop();
    await this.#snapshots.stop();
    await this.#consumer?.stop(); // revokes everything: final snapshots
    this.#consumer = null;
  }

  #inTurn<T>(work: () => Promise<T> | T): Promise<T> {
    const run = this.#turn.then(work);
    this.#turn = run.catch(() => {});
    return run;
  }

  // ---- state snapshots ------------------------------------------------------------------------

  /**
   * Writes a snapshot of each owned raw partition (or of `only`) whose state changed since its
   * last one. Each is taken between batches (the offset it records is the next one its state
   * does not cover, so a restore goes on from exactly there), one partition per turn: at 500,000
   * nodes taking all of them in one turn held readings back for over a second. Snapshots run one
   * after the other, so an older one never lands after a newer one.
   */
  snapshot(only?: number[]): Promise<void> {
    const run = this.#snapshotting.then(() => this.#snapshotEach(only));
    this.#snapshotting = run.catch(() => {});
    return run;
  }

  async #snapshotEach(only?: number[]): Promise<void> {
    const store = this.#store;
    if (!store) return;
    for (const p of only ?? [...this.#covered.keys()]) {
      const taken = await this.#inTurn(() => {
        const covered = this.#covered.get(p);
        if (!covered?.dirty) return null;
        covered.dirty = false;
        return this.#take(p, covered.offset);
      });
      if (!taken) continue;
      try {
        await store.save([taken]);
      } catch (error) {
        const covered = this.#covered.get(p);
        if (covered) covered.dirty = true;
        throw error;
      }
    }
  }

  #take(partition: number, offset: number): PartitionSnapshot {
    const nodes: Record<string, NodeSnapshot> = {};
    for (const node of this.#byPartition.get(partition)?.all ?? []) {
      const state = snapshotNode(this.#kinds, this.#health, this.#dedup, node);
      if (state) nodes[node.nodeId] = state;
    }
    return {
      version: 1,
      partition,
      partitions: this.#o.rawPartitions,
      offset,
      maxTs: this.#watermarks.get(partition)?.maxTs ?? null,
      since: this.#clock.first ?? null,
      takenAt: this.#wall(),
      nodes,
    };
  }

  /** Puts back the latest snapshot of each gained raw partition (the processor role; replicas rebuild from the log). */
  async #restore(partitions: number[]): Promise<void> {
    for (const p of partitions) this.#restored.delete(p);
    if (!this.#store || partitions.length === 0) return;
    const snapshots = await this.#store.load(partitions);
    for (const [p, snapshot] of snapshots) {
      if (snapshot.partitions !== this.#o.rawPartitions) {
        this.#o.logger.warn({ partition: p, snapshotPartitions: snapshot.partitions, partitions: this.#o.rawPartitions }, 'state snapshot taken with another partition count: ignored, rebuilding from the log');
        continue;
      }
      const nodes = this.#byPartition.get(p)?.all ?? [];
      for (const node of nodes) {
        const state = snapshot.nodes[node.nodeId];
        if (!state) continue;
        if (state.k !== undefined) this.#kinds.get(node.kind)!.importNode(node.nodeId, state.k);
        if (state.h !== undefined) this.#health.importNode(node.nodeId, state.h);
        if (state.d !== undefined) this.#dedup.importNode(node.nodeId, state.d);
      }
      this.#watermarks.set(p, new PartitionWatermark(this.#o.config.ALLOWED_LATENESS_S * 1000, snapshot.maxTs ?? undefined));
      if (snapshot.maxTs !== null) this.#clock.restore(snapshot.since ?? snapshot.maxTs, snapshot.maxTs);
      this.#restored.set(p, snapshot.offset);
      this.#covered.set(p, { offset: snapshot.offset, dirty: false });
      this.#o.logger.info({ partition: p, offset: snapshot.offset, nodes: Object.keys(snapshot.nodes).length, store: this.#store.name }, 'state restored from snapshot');
    }
  }

  #watermark(partition: number): PartitionWatermark {
    let w = this.#watermarks.get(partition);
    if (!w) this.#watermarks.set(partition, (w = new PartitionWatermark(this.#o.config.ALLOWED_LATENESS_S * 1000)));
    return w;
  }

  /** A reading behind its partition's watermark, for the dead-letter topic (the format ingest writes). */
  #deadLetter(record: AnyReadingRecord, watermark: number): OutgoingMessage {
    const rejected = rejectedRecord(
      {
        reason: 'late',
        detail: `reading ts ${new Date(record.reading.ts).toISOString()} is behind its partition's watermark ${new Date(watermark).toISOString()} (newest reading minus ALLOWED_LATENESS_S=${this.#o.config.ALLOWED_LATENESS_S})`,
        topic: record.gatewayId ? `city/gateways/${record.gatewayId}/batch` : `city/${record.district}/${record.kind}/${record.nodeId}/telemetry`,
        nodeId: record.nodeId,
        receivedAt: record.receivedAt,
      },
      Buffer.from(JSON.stringify(record.reading)),
    );
    return { key: record.nodeId, value: Buffer.from(JSON.stringify(rejected)), timestamp: record.receivedAt };
  }

  /**
   * `replay`: records re-read to rebuild state; applied, but neither counted, streamed nor
   * dead-lettered again. Duplicates (same node and seq or ts) are skipped; readings behind their
   * partition's watermark are late: not applied, dead-lettered and counted as rejected.
   */
  async #onBatch(topic: string, partition: number, records: StreamRecord[], replay: boolean): Promise<void> {
    const { registry, metrics, logger } = this.#o;
    if (replay && topic === TOPICS.raw && records.length > 0 && !this.#rereadLogged.has(partition)) {
      this.#rereadLogged.add(partition);
      logger.info({ partition, from: records[0]!.offset, snapshotOffset: this.#restored.get(partition) ?? null }, 'partition re-read from the log to rebuild its state');
    }
    if (topic === TOPICS.dlq) {
      for (const r of records) {
        const rejected = parseJson(r.value) as { reason?: string; receivedAt?: number } | undefined;
        if (rejected?.reason) this.#health.noteRejected(partition, rejected.reason, rejected.receivedAt ?? r.timestamp);
      }
      return;
    }
    const processed = new Map<string, number>();
    const late: OutgoingMessage[] = [];
    const watermark = this.#watermark(partition);
    for (const r of records) {
      const record = parseJson(r.value) as TelemetryRecord | undefined;
      const node = record && registry.get(record.nodeId);
      if (!record || !node || node.kind !== record.kind) {
        // Ingest validated it; a mismatch here means the registries differ between stages.
        logger.warn({ topic, partition: r.partition, offset: r.offset, key: r.key }, 'record skipped: unreadable or not in this registry');
        continue;
      }
      if (record.type === 'reading') {
        if (this.#dedup.seen(record.nodeId, record.reading.ts, record.reading.seq)) continue;
        if (watermark.late(record.reading.ts)) {
          if (!replay) late.push(this.#deadLetter(record, watermark.value!));
          continue;
        }
        this.#clock.observe(record.reading.ts);
        this.#kinds.get(record.kind)!.apply(record as never, node as never);
        if (!replay) {
          processed.set(record.kind, (processed.get(record.kind) ?? 0) + 1);
          if (this.#listeners.size > 0) this.#listeners.emit({ type: 'reading', nodeId: record.nodeId, kind: record.kind, district: record.district, ts: record.reading.ts });
        }
      }
      this.#health.apply(record, this.#clock.now());
    }
    if (records.length > 0) this.#covered.set(partition, { offset: records[records.length - 1]!.offset + 1, dirty: true });
    if (this.#o.role !== 'processor') return;
    // Dead letters are written before the batch is committed (at-least-once: a batch redelivered after a crash may write them again).
    if (late.length > 0) await this.#o.producer.send(TOPICS.dlq, late);
    for (const [kind, n] of processed) metrics.processed.inc({ kind }, n);
    if (late.length > 0) metrics.rejected.inc({ reason: 'late' }, late.length);
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
    const eventTime = this.#clock.first !== undefined;
    const out: PartitionPartial[] = [];
    for (const source of [...this.#owned].sort()) {
      const [topic, p] = [source.slice(0, source.lastIndexOf(':')), Number(source.slice(source.lastIndexOf(':') + 1))];
      if (topic === TOPICS.dlq) {
        out.push({ source, at: ctx.now, eventTime, since: ctx.since, rejections: this.#health.rejections(p, this.#wall()), conditions: [] });
        continue;
      }
      const nodes = this.#byPartition.get(p);
      const partial: PartitionPartial = { source, at: ctx.now, eventTime, since: ctx.since, kinds: {}, conditions: [] };
      for (const [kind, processor] of this.#kinds) {
        const { section, conditions } = processor.partial((nodes?.byKind.get(kind) ?? []) as never[], ctx);
        partial.kinds![kind] = section;
        appendAll(partial.conditions, conditions);
      }
      const health = this.#health.partial(nodes?.all ?? [], ctx);
      partial.health = health.section;
      appendAll(partial.conditions, health.conditions);
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
    if (detail) Object.assign(view, this.#kinds.get(node.kind)!.describe(node as never, ctx));
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

