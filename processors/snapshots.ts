import type { Logger } from 'pino';
import type { Config, Producer, RegistryNode, StreamTransport } from '../core/index.js';
import type { ReadingState } from './apply-readings.js';
import type { Deduplicator } from './dedup.js';
import type { NodeHealth } from './health/processor.js';
import type { PartitionIndex } from './partition-index.js';
import { FileSnapshotStore, TopicSnapshotStore, type NodeSnapshot, type PartitionSnapshot, type SnapshotStore } from './state/index.js';
import type { KindProcessor } from './types.js';

/** The default snapshot store of a transport: the log itself on Kafka (stateIn `log`), else files in STATE_DIR (the embedded logs). */
export function defaultStateStore(transport: StreamTransport, producer: Producer, config: Config): SnapshotStore {
  return transport.stateIn === 'log' ? new TopicSnapshotStore(transport, producer) : new FileSnapshotStore(config.STATE_DIR);
}

/**
 * The store a host snapshots to: only the processor role has one (replicas rebuild from the log);
 * `stateStore` undefined = the transport's default, null = none.
 */
export function stateStoreFor(o: {
  role: 'processor' | 'replica';
  stateStore?: SnapshotStore | null;
  transport: StreamTransport;
  producer: Producer;
  config: Config;
}): SnapshotStore | null {
  if (o.role !== 'processor') return null;
  return o.stateStore === undefined ? defaultStateStore(o.transport, o.producer, o.config) : o.stateStore;
}

/** One node's part of a partition snapshot: its kind state, health and dedup memory; undefined when there is none. */
export function snapshotNode(
  kinds: ReadonlyMap<string, KindProcessor>,
  health: NodeHealth,
  dedup: Deduplicator,
  node: RegistryNode,
): NodeSnapshot | undefined {
  const state: NodeSnapshot = {};
  const k = kinds.get(node.kind)!.exportNode(node.nodeId);
  const h = health.exportNode(node.nodeId);
  const d = dedup.exportNode(node.nodeId);
  if (k !== undefined) state.k = k;
  if (h !== undefined) state.h = h;
  if (d !== undefined) state.d = d;
  return k !== undefined || h !== undefined || d !== undefined ? state : undefined;
}

/** The snapshot of one raw partition's nodes, covering its log up to (not including) `offset`. */
export function takeSnapshot(
  state: ReadingState,
  nodes: readonly RegistryNode[],
  at: { partition: number; partitions: number; offset: number; takenAt: number },
): PartitionSnapshot {
  const snapshotNodes: Record<string, NodeSnapshot> = {};
  for (const node of nodes) {
    const s = snapshotNode(state.kinds, state.health, state.dedup, node);
    if (s) snapshotNodes[node.nodeId] = s;
  }
  return {
    version: 1,
    partition: at.partition,
    partitions: at.partitions,
    offset: at.offset,
    maxTs: state.watermarks.maxTs(at.partition) ?? null,
    since: state.clock.first ?? null,
    takenAt: at.takenAt,
    nodes: snapshotNodes,
  };
}

/** Puts a partition's snapshot back: its nodes' states (those still in the registry), its watermark, and what the clock had seen. */
export function restoreSnapshot(state: ReadingState, partition: number, nodes: readonly RegistryNode[], snapshot: PartitionSnapshot): void {
  for (const node of nodes) {
    const s = snapshot.nodes[node.nodeId];
    if (!s) continue;
    if (s.k !== undefined) state.kinds.get(node.kind)!.importNode(node.nodeId, s.k);
    if (s.h !== undefined) state.health.importNode(node.nodeId, s.h);
    if (s.d !== undefined) state.dedup.importNode(node.nodeId, s.d);
  }
  state.watermarks.restore(partition, snapshot.maxTs ?? undefined);
  if (snapshot.maxTs !== null) state.clock.restore(snapshot.since ?? snapshot.maxTs, snapshot.maxTs);
}

/**
 * Per raw partition: the next offset its state does not cover yet and whether it changed since
 * its last snapshot; and the offsets restored snapshots cover, for the rebuild that follows them.
 */
export class SnapshotOffsets {
  readonly #covered = new Map<number, { offset: number; dirty: boolean }>();
  readonly #restored = new Map<number, number>();

  /** A batch up to `lastOffset` is applied: the state now covers the log up to the next offset. */
  applied(partition: number, lastOffset: number): void {
    this.#covered.set(partition, { offset: lastOffset + 1, dirty: true });
  }

  /** Partitions with state (what a snapshot of everything goes over). */
  partitions(): number[] {
    return [...this.#covered.keys()];
  }

  /** The offset a snapshot taken now records, marking it taken; undefined when nothing changed since the last one. */
  take(partition: number): number | undefined {
    const covered = this.#covered.get(partition);
    if (!covered?.dirty) return undefined;
    covered.dirty = false;
    return covered.offset;
  }

  /** A snapshot that was not saved: the next one takes the partition again. */
  retry(partition: number): void {
    const covered = this.#covered.get(partition);
    if (covered) covered.dirty = true;
  }

  /** A partition (re)gained: what an earlier restore covered no longer holds. */
  assigned(partition: number): void {
    this.#restored.delete(partition);
  }

  /** A snapshot up to `offset` restored: the rebuild goes on from there, and the state is as good as saved. */
  restored(partition: number, offset: number): void {
    this.#restored.set(partition, offset);
    this.#covered.set(partition, { offset, dirty: false });
  }

  /** Where the rebuild of a gained partition starts: its restored snapshot's offset (undefined = the earliest record). */
  rebuildFrom(partition: number): number | undefined {
    return this.#restored.get(partition);
  }

  /** A partition handed to another instance: its state is no longer ours to snapshot. */
  revoked(partition: number): void {
    this.#covered.delete(partition);
  }
}

export interface PartitionSnapshotsOptions {
  store: SnapshotStore | null;
  state: ReadingState;
  index: PartitionIndex;
  /** Partition count of `telemetry.raw` (a snapshot taken with another count placed other nodes). */
  partitions: number;
  logger: Logger;
  wall: () => number;
  /** Runs work between the host's batches. */
  inTurn: <T>(work: () => T) => Promise<T>;
}

/** Takes, saves and restores the snapshots of a host's raw partitions. */
export class PartitionSnapshots {
  readonly offsets = new SnapshotOffsets();
  readonly #o: PartitionSnapshotsOptions;
  #snapshotting: Promise<void> = Promise.resolve();

  constructor(options: PartitionSnapshotsOptions) {
    this.#o = options;
  }

  get store(): SnapshotStore | null {
    return this.#o.store;
  }

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
    const { store, state, index, partitions, wall, inTurn } = this.#o;
    if (!store) return;
    for (const p of only ?? this.offsets.partitions()) {
      const taken = await inTurn(() => {
        const offset = this.offsets.take(p);
        return offset === undefined ? null : takeSnapshot(state, index.all(p), { partition: p, partitions, offset, takenAt: wall() });
      });
      if (!taken) continue;
      try {
        await store.save([taken]);
      } catch (error) {
        this.offsets.retry(p);
        throw error;
      }
    }
  }

  /** Puts back the latest snapshot of each gained raw partition (the processor role; replicas rebuild from the log). */
  async restore(gained: number[]): Promise<void> {
    const { store, state, index, partitions, logger } = this.#o;
    for (const p of gained) this.offsets.assigned(p);
    if (!store || gained.length === 0) return;
    const snapshots = await store.load(gained);
    for (const [p, snapshot] of snapshots) {
      if (snapshot.partitions !== partitions) {
        logger.warn(
          { partition: p, snapshotPartitions: snapshot.partitions, partitions },
          'state snapshot taken with another partition count: ignored, rebuilding from the log',
        );
        continue;
      }
      restoreSnapshot(state, p, index.all(p), snapshot);
      this.offsets.restored(p, snapshot.offset);
      logger.info(
        { partition: p, offset: snapshot.offset, nodes: Object.keys(snapshot.nodes).length, store: store.name },
        'state restored from snapshot',
      );
    }
  }
}
