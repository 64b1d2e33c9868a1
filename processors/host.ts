import type { Logger } from 'pino';
import {
  GROUPS,
  TOPICS,
  type Config,
  type Consumer,
  type NodeQuery,
  type NodeRegistry,
  type NodeView,
  type PipelineEvent,
  type PipelineMetrics,
  type Producer,
  type StreamRecord,
  type StreamTransport,
  type TopicPartition,
  withDefaults,
} from '../core/index.js';
import { applyReadings, noteRejections, Watermarks, type ReadingState } from './apply-readings.js';
import { EventClock } from './clock.js';
import { Deduplicator } from './dedup.js';
import { NodeHealth } from './health/processor.js';
import { processorsFor } from './kind-processors.js';
import { nodeView, nodeViews } from './node-views.js';
import type { PartitionPartial } from './partial.js';
import { PartialEncoder } from './partial-delta.js';
import { PartitionIndex } from './partition-index.js';
import { buildPartials } from './partition-partials.js';
import { PartitionSnapshots, stateStoreFor } from './snapshots.js';
import type { SnapshotStore } from './state/index.js';
import { PARTIALS_PACE, PartialsPace } from './partials-pace.js';
import { Listeners, threadCpuMs, Ticker } from './ticker.js';
import type { EvalContext } from './types.js';

// Moved to parts of their own; still exported here for the code that imports them from the host.
export { processorsFor } from './kind-processors.js';
export { defaultStateStore, snapshotNode } from './snapshots.js';

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

/** Registry changes reach the partition lists once quiet for 1 s, within 3 s at the latest (a bulk import: not after every batch). */
const REGISTRY_SETTLE = { settleMs: 1_000, maxStaleMs: 3_000 };

/** The host's defaults (stateStore's depends on the transport: see `stateStoreFor`). */
export const HOST_DEFAULTS = {
  groupId: GROUPS.processors as string,
  wall: Date.now,
};

/**
 * Runs the kind processors and node health over the partitions of `telemetry.raw` this member
 * owns (and counts rejections from `telemetry.dlq`); on a timer publishes each owned
 * partition's partial to `metrics.partials`; serves node views. The work is done by its parts
 * (reading application, snapshots, partials, node views); the host wires them to the consumer
 * and the timers.
 */
export class ProcessorHost {
  readonly #o: HostOptions & typeof HOST_DEFAULTS;
  readonly #wall: () => number;
  /** Kind processors, health, dedup memory, clock and watermarks: what readings change. */
  readonly #state: ReadingState;
  /**
   * The registry's nodes by raw partition, for partials and snapshots: built on first use, so the
   * API's replica (node views only) never holds it (at 500,000 nodes a map entry and list slot per node).
   */
  #partitionIndex: { index: PartitionIndex; unfollow: () => void } | null = null;
  readonly #listeners = new Listeners<PipelineEvent>();
  readonly #ticker: Ticker;
  readonly #pace: PartialsPace;
  readonly #owned = new Set<string>();
  /** Encodes each owned partition's partial: as the changes since its last, or whole (see PartialsPace). */
  readonly #encoder: PartialEncoder;
  /** Raw partitions whose re-read since their last assignment has been logged (once each). */
  readonly #rereadLogged = new Set<number>();
  readonly #snapshots: PartitionSnapshots;
  readonly #snapshotTicker: Ticker;
  /** Batches and snapshots take turns: a snapshot never sees half of a batch. */
  #turn: Promise<unknown> = Promise.resolve();
  #consumer: Consumer | null = null;
  /** When the lag gauges were last asked for, and whether that is still under way (see #noteLag). */
  #lagAt = -Infinity;
  #lagging = false;
  #lagRead: Promise<void> = Promise.resolve();

  constructor(options: HostOptions) {
    this.#o = { ...options, ...withDefaults(HOST_DEFAULTS, options) };
    this.#wall = this.#o.wall;
    this.#pace = new PartialsPace(options.transport);
    this.#encoder = new PartialEncoder(this.#wall);
    this.#ticker = new Ticker(
      () => this.#publishPartials(),
      (error) => this.#o.logger.error({ err: error }, 'evaluation failed'),
    );
    this.#state = {
      kinds: processorsFor(options.config, options.registry.kinds),
      health: new NodeHealth(),
      dedup: new Deduplicator(),
      clock: new EventClock(this.#wall),
      watermarks: new Watermarks(options.config.ALLOWED_LATENESS_S),
    };
    const index = () => this.#index;
    this.#snapshots = new PartitionSnapshots({
      store: stateStoreFor(options),
      state: this.#state,
      get index() {
        return index();
      },
      partitions: options.rawPartitions,
      logger: options.logger,
      wall: this.#wall,
      inTurn: (work) => this.#inTurn(work),
    });
    this.#snapshotTicker = new Ticker(
      () => this.snapshot(),
      (error) => this.#o.logger.error({ err: error }, 'state snapshot failed; the next one retries'),
    );
  }

  async start(): Promise<void> {
    const key = (tp: TopicPartition) => `${tp.topic}:${tp.partition}`;
    this.#consumer = await this.#o.transport.consume({
      groupId: this.#o.groupId,
      topics: this.#o.role === 'processor' ? [TOPICS.raw, TOPICS.dlq] : [TOPICS.raw],
      fromBeginning: true,
      // A partition taken over (or after a restart) gets its latest state snapshot back, then is
      // re-read from the offset that snapshot covers up to the group's position (from the
      // beginning without one): processing is idempotent, so that rebuilds its nodes' state exactly.
      rebuildOnAssign: true,
      onBatch: (batch) => this.#inTurn(() => this.#onBatch(batch.topic, batch.partition, batch.records, batch.replay === true)),
      onAssigned: async (tps) => {
        for (const tp of tps) if (tp.topic === TOPICS.raw) this.#rereadLogged.delete(tp.partition);
        await this.#snapshots.restore(tps.filter((tp) => tp.topic === TOPICS.raw).map((tp) => tp.partition));
        tps.forEach((tp) => this.#owned.add(key(tp)));
      },
      rebuildFrom: (tp) => (tp.topic === TOPICS.raw ? this.#snapshots.offsets.rebuildFrom(tp.partition) : undefined),
      onRevoked: async (tps) => {
        // The last word on a partition before another instance takes it over.
        const raw = tps.filter((tp) => tp.topic === TOPICS.raw).map((tp) => tp.partition);
        if (raw.length > 0)
          await this.snapshot(raw).catch((error: unknown) =>
            this.#o.logger.error({ err: error, partitions: raw }, 'final state snapshot failed; the next owner rebuilds from an older one'),
          );
        for (const tp of tps) {
          this.#owned.delete(key(tp));
          this.#encoder.forget(key(tp));
        }
        for (const tp of tps) if (tp.topic === TOPICS.dlq) this.#state.health.forgetRejections(tp.partition);
        for (const p of raw) {
          this.#snapshots.offsets.revoked(p);
          this.#state.watermarks.delete(p); // a later owner's records move it on: it comes back with the next restore
        }
      },
    });
    if (this.#o.role === 'processor') {
      await this.tick();
      this.#ticker.start(this.#o.config.EVAL_INTERVAL_MS);
      if (this.#snapshots.store) this.#snapshotTicker.start(this.#o.config.STATE_SNAPSHOT_INTERVAL_MS);
    }
  }

  async stop(): Promise<void> {
    await this.#ticker.stop();
    await this.#snapshotTicker.stop();
    await this.#lagRead;
    await this.#consumer?.stop(); // revokes everything: final snapshots
    this.#consumer = null;
    this.#partitionIndex?.unfollow();
    this.#partitionIndex = null;
  }

  get #index(): PartitionIndex {
    if (!this.#partitionIndex) {
      const { registry, rawPartitions } = this.#o;
      const index = new PartitionIndex(registry.all(), rawPartitions, { ...REGISTRY_SETTLE, now: this.#wall });
      // A node created, changed or decommissioned moves in or out of its partition's lists at once.
      this.#partitionIndex = { index, unfollow: index.follow(registry) };
    }
    return this.#partitionIndex.index;
  }

  #inTurn<T>(work: () => Promise<T> | T): Promise<T> {
    const run = this.#turn.then(work);
    this.#turn = run.catch(() => {});
    return run;
  }

  /** Writes a snapshot of each owned raw partition (or of `only`) that changed since its last one (see PartitionSnapshots). */
  snapshot(only?: number[]): Promise<void> {
    return this.#snapshots.snapshot(only);
  }

  /** Applies a batch (see applyReadings), then writes its dead letters and counts it: the processor role only. */
  async #onBatch(topic: string, partition: number, records: StreamRecord[], replay: boolean): Promise<void> {
    const { registry, metrics, logger } = this.#o;
    if (replay && topic === TOPICS.raw && records.length > 0 && !this.#rereadLogged.has(partition)) {
      this.#rereadLogged.add(partition);
      logger.info(
        { partition, from: records[0]!.offset, snapshotOffset: this.#snapshots.offsets.rebuildFrom(partition) ?? null },
        'partition re-read from the log to rebuild its state',
      );
    }
    if (topic === TOPICS.dlq) {
      noteRejections(this.#state.health, partition, records);
      return;
    }
    const emit = this.#listeners.size > 0 ? (event: PipelineEvent) => this.#listeners.emit(event) : undefined;
    const { processed, late, skipped } = applyReadings(this.#state, registry, partition, records, replay, emit);
    // Ingest validated them; a mismatch here means the registries differ between stages.
    for (const r of skipped)
      logger.warn({ topic, partition: r.partition, offset: r.offset, key: r.key }, 'record skipped: unreadable or not in this registry');
    if (records.length > 0) this.#snapshots.offsets.applied(partition, records[records.length - 1]!.offset);
    if (this.#o.role !== 'processor') return;
    // Dead letters are written before the batch is committed (at-least-once: a batch redelivered after a crash may write them again).
    if (late.length > 0) await this.#o.producer.send(TOPICS.dlq, late);
    for (const [kind, n] of processed) metrics.processed.inc({ kind }, n);
    if (late.length > 0) metrics.rejected.inc({ reason: 'late' }, late.length);
    if (!replay && processed.size > 0 && this.#pace.afterReadings(records[records.length - 1]!.timestamp)) this.#ticker.soon(PARTIALS_PACE);
  }

  #ctx(): EvalContext {
    const clock = this.#state.clock;
    return { now: clock.now(), since: clock.since, config: this.#o.config, registry: this.#o.registry };
  }

  /** Publishes the partial of every owned partition. Never overlaps itself. */
  tick(): Promise<void> {
    return this.#ticker.tick();
  }

  /** The partials of the partitions this member owns right now. */
  partials(): PartitionPartial[] {
    return buildPartials(this.#owned, { ...this.#state, index: this.#index }, this.#ctx(), this.#wall());
  }

  /** Resolves to what building the partials cost (ms of this thread's CPU; not the write, which mostly waits). */
  async #publishPartials(): Promise<number> {
    const started = threadCpuMs();
    const partials = this.partials();
    if (partials.length === 0) return threadCpuMs() - started;
    const deltas = this.#pace.deltas;
    const records = partials.map((p) => this.#encoder.encode(p, deltas));
    const cost = threadCpuMs() - started;
    await this.#o.producer.send(TOPICS.partials, records);
    this.#noteLag();
    return cost;
  }

  /**
   * Sets the consumer lag gauges, at most once per EVAL_INTERVAL_MS and out of the partials' way:
   * partials go out several times a second, and on Kafka each look at the lag is three requests to
   * the broker.
   */
  #noteLag(): void {
    const consumer = this.#consumer;
    const now = this.#wall();
    if (!consumer || this.#lagging || now - this.#lagAt < this.#o.config.EVAL_INTERVAL_MS) return;
    [this.#lagging, this.#lagAt] = [true, now];
    this.#lagRead = consumer
      .lag()
      .then((lags) => {
        for (const [topic, lag] of Object.entries(lags)) this.#o.metrics.consumerLag.set({ topic }, lag);
      })
      .catch((error: unknown) => this.#o.logger.warn({ err: error }, 'could not read the consumer lag; the next partials try again'))
      .finally(() => (this.#lagging = false));
  }

  // ---- node views -----------------------------------------------------------------------------

  ready(): boolean {
    return this.#consumer !== null;
  }

  nodes(query: NodeQuery): { total: number; items: NodeView[] } {
    return nodeViews(this.#state, query, this.#ctx());
  }

  node(nodeId: string): NodeView | undefined {
    const node = this.#o.registry.get(nodeId);
    return node && nodeView(this.#state, node, this.#ctx(), true);
  }

  subscribe(listener: (event: PipelineEvent) => void): () => void {
    return this.#listeners.add(listener);
  }
}
