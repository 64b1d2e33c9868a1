import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import {
  MemoryTransport,
  NodeRegistry,
  type Producer,
  type RegistryNode,
  type StreamRecord,
  type StreamTransport,
  type TelemetryRecord,
} from '../core/index.js';
import { at, config, STATION } from '../test/fixtures.js';
import { applyReadings, Watermarks, type ReadingState } from './apply-readings.js';
import { EventClock } from './clock.js';
import { Deduplicator } from './dedup.js';
import { FakeKind } from './fake-kind.js';
import { NodeHealth } from './health/processor.js';
import { PartitionIndex } from './partition-index.js';
import { PartitionSnapshots, restoreSnapshot, snapshotNode, SnapshotOffsets, stateStoreFor, takeSnapshot } from './snapshots.js';
import { FileSnapshotStore, TopicSnapshotStore, type PartitionSnapshot, type SnapshotStore } from './state/index.js';
import { defaultKinds } from '../core/kinds/modules.js';

const station = STATION;
const quiet: RegistryNode = { ...station, nodeId: 'NS-2' };
const registry = new NodeRegistry([station, quiet], [], defaultKinds());
const WALL = at('2026-06-21T12:00:00');

function newState(): ReadingState & { noise: FakeKind } {
  const noise = new FakeKind('noise');
  return {
    noise,
    kinds: new Map([['noise', noise]]),
    health: new NodeHealth(),
    dedup: new Deduplicator(),
    clock: new EventClock(() => WALL),
    watermarks: new Watermarks(600),
  };
}

const reading = (local: string, seq: number): TelemetryRecord => ({
  type: 'reading',
  nodeId: 'NS-1',
  kind: 'noise',
  district: 'Lixia',
  receivedAt: at(local),
  reading: { ts: at(local), seq, laeq: 50, periodS: 60 },
});
const batch = (from: number, ...records: TelemetryRecord[]): StreamRecord[] =>
  records.map((r, i) => ({
    topic: 'telemetry.raw',
    partition: 0,
    offset: from + i,
    key: r.nodeId,
    value: Buffer.from(JSON.stringify(r)),
    timestamp: r.receivedAt,
    headers: {},
  }));

/** A store in memory; `failing` makes the next save throw. */
class MemoryStore implements SnapshotStore {
  readonly name = 'memory';
  readonly saved: PartitionSnapshot[] = [];
  failing = false;
  async save(snapshots: PartitionSnapshot[]): Promise<void> {
    if (this.failing) throw new Error('disk full');
    this.saved.push(...structuredClone(snapshots));
  }
  async load(partitions: number[]): Promise<Map<number, PartitionSnapshot>> {
    const out = new Map<number, PartitionSnapshot>();
    for (const s of this.saved) if (partitions.includes(s.partition)) out.set(s.partition, s);
    return out;
  }
}

/** One partition (0) holding both stations; batches and snapshots take turns as in the host. */
function host(store: SnapshotStore | null, partitions = 1) {
  const state = newState();
  let turn: Promise<unknown> = Promise.resolve();
  const inTurn = <T>(work: () => T | Promise<T>): Promise<T> => {
    const run = turn.then(work);
    turn = run.catch(() => {});
    return run;
  };
  const warnings: string[] = [];
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => void (JSON.parse(line).level === 40 && warnings.push(JSON.parse(line).msg as string)) },
  );
  const snapshots = new PartitionSnapshots({
    store,
    state,
    index: new PartitionIndex(registry.all(), partitions),
    partitions,
    logger,
    wall: () => WALL,
    inTurn,
  });
  const apply = (records: StreamRecord[]) => {
    applyReadings(state, registry, 0, records, false);
    snapshots.offsets.applied(0, records[records.length - 1]!.offset);
  };
  return { state, snapshots, apply, inTurn, warnings };
}

describe('snapshot offsets', () => {
  it('record the next offset after a batch, once until the next change, and again after a failed save', () => {
    const o = new SnapshotOffsets();
    expect(o.take(0)).toBeUndefined();
    o.applied(0, 41);
    expect(o.partitions()).toEqual([0]);
    expect(o.take(0)).toBe(42);
    expect(o.take(0)).toBeUndefined();
    o.retry(0);
    expect(o.take(0)).toBe(42);
    o.revoked(0);
    expect(o.partitions()).toEqual([]);
    o.retry(0); // nothing to retry once revoked
    expect(o.take(0)).toBeUndefined();
  });

  it('remember where a restored snapshot ends, for the rebuild, until the partition is assigned again', () => {
    const o = new SnapshotOffsets();
    o.restored(3, 10);
    expect(o.rebuildFrom(3)).toBe(10);
    expect(o.take(3)).toBeUndefined(); // as good as saved
    o.revoked(3);
    expect(o.rebuildFrom(3)).toBe(10);
    o.assigned(3);
    expect(o.rebuildFrom(3)).toBeUndefined();
  });
});

describe('taking and restoring a snapshot', () => {
  it("holds each node's kind state, health and dedup memory, the partition's newest event time and the clock's first", () => {
    const state = newState();
    applyReadings(state, registry, 0, batch(0, reading('2026-06-21T10:00:00', 1), reading('2026-06-21T10:20:00', 2)), false);
    expect(snapshotNode(state.kinds, state.health, state.dedup, quiet)).toBeUndefined();
    expect(takeSnapshot(state, [station, quiet], { partition: 0, partitions: 12, offset: 2, takenAt: WALL })).toEqual({
      version: 1,
      partition: 0,
      partitions: 12,
      offset: 2,
      maxTs: at('2026-06-21T10:20:00'),
      since: at('2026-06-21T10:00:00'),
      takenAt: WALL,
      nodes: {
        'NS-1': {
          k: { ts: at('2026-06-21T10:20:00') },
          h: { lastSeen: at('2026-06-21T10:20:00'), lastReceivedAt: at('2026-06-21T10:20:00') },
          d: [
            [at('2026-06-21T10:00:00'), 1],
            [at('2026-06-21T10:20:00'), 2],
          ],
        },
      },
    });
  });

  it('puts the nodes, the watermark and the clock back', () => {
    const from = newState();
    applyReadings(from, registry, 0, batch(0, reading('2026-06-21T10:00:00', 1), reading('2026-06-21T10:20:00', 2)), false);
    const snapshot = takeSnapshot(from, [station], { partition: 0, partitions: 1, offset: 2, takenAt: WALL });
    const to = newState();
    restoreSnapshot(to, 0, [station], snapshot);
    expect(to.noise.state.get('NS-1')).toEqual({ ts: at('2026-06-21T10:20:00') });
    expect(to.clock.first).toBe(at('2026-06-21T10:00:00'));
    expect(to.clock.now()).toBe(at('2026-06-21T10:20:00'));
    // 10:09 is behind the restored watermark (10:20 - 10 min); seq 2 is a duplicate.
    const out = applyReadings(to, registry, 0, batch(2, reading('2026-06-21T10:09:00', 3), reading('2026-06-21T10:21:00', 2)), false);
    expect(out.late).toHaveLength(1);
    expect(out.processed).toEqual(new Map());
  });
});

describe('partition snapshots', () => {
  it('taken between batches, record the next offset; an unchanged partition is not written again', async () => {
    const store = new MemoryStore();
    const h = host(store);
    h.apply(batch(0, reading('2026-06-21T10:00:00', 1)));
    h.apply(batch(1, reading('2026-06-21T10:01:00', 2), reading('2026-06-21T10:02:00', 3)));
    await h.snapshots.snapshot();
    expect(store.saved.map((s) => [s.partition, s.offset])).toEqual([[0, 3]]);
    await h.snapshots.snapshot();
    expect(store.saved).toHaveLength(1);
  });

  it('wait for the batch in progress: never half of one', async () => {
    const store = new MemoryStore();
    const h = host(store);
    h.apply(batch(0, reading('2026-06-21T10:00:00', 1)));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const inProgress = h.inTurn(async () => {
      await gate;
      h.apply(batch(1, reading('2026-06-21T10:01:00', 2), reading('2026-06-21T10:02:00', 3)));
    });
    const snapshot = h.snapshots.snapshot();
    release();
    await Promise.all([inProgress, snapshot]);
    expect(store.saved.map((s) => s.offset)).toEqual([3]);
    expect(Object.keys(store.saved[0]!.nodes)).toEqual(['NS-1']);
    expect(store.saved[0]!.maxTs).toBe(at('2026-06-21T10:02:00'));
  });

  it('retried by the next one when a save fails', async () => {
    const store = new MemoryStore();
    const h = host(store);
    h.apply(batch(0, reading('2026-06-21T10:00:00', 1)));
    store.failing = true;
    await expect(h.snapshots.snapshot()).rejects.toThrow('disk full');
    store.failing = false;
    await h.snapshots.snapshot([0]);
    expect(store.saved.map((s) => s.offset)).toEqual([1]);
  });

  it("restored: the state and the rebuild's start come back", async () => {
    const store = new MemoryStore();
    const first = host(store);
    first.apply(batch(0, reading('2026-06-21T10:00:00', 1), reading('2026-06-21T10:20:00', 2)));
    await first.snapshots.snapshot();
    const next = host(store);
    await next.snapshots.restore([0]);
    expect(next.state.noise.state.get('NS-1')).toEqual({ ts: at('2026-06-21T10:20:00') });
    expect(next.state.watermarks.maxTs(0)).toBe(at('2026-06-21T10:20:00'));
    expect(next.snapshots.offsets.rebuildFrom(0)).toBe(2);
  });

  it('ignore a snapshot taken with another partition count: rebuilt from the log', async () => {
    const store = new MemoryStore();
    const first = host(store);
    first.apply(batch(0, reading('2026-06-21T10:00:00', 1)));
    await first.snapshots.snapshot();
    const next = host(store, 2);
    await next.snapshots.restore([0]);
    expect(next.state.noise.state.size).toBe(0);
    expect(next.state.watermarks.maxTs(0)).toBeUndefined();
    expect(next.snapshots.offsets.rebuildFrom(0)).toBeUndefined();
    expect(next.warnings).toEqual(['state snapshot taken with another partition count: ignored, rebuilding from the log']);
  });

  it('without a store: nothing written, nothing restored', async () => {
    const h = host(null);
    h.apply(batch(0, reading('2026-06-21T10:00:00', 1)));
    await h.snapshots.snapshot();
    await h.snapshots.restore([0]);
    expect(h.snapshots.offsets.take(0)).toBe(1); // still to be taken: nobody took it
  });
});

describe('the snapshot store', () => {
  it('is for the processor role only: the given one, or the default of the transport (files on the embedded logs, in-process and file; a topic on Kafka)', () => {
    const cfg = config();
    const producer = {} as Producer;
    const memory = new MemoryTransport();
    const kafka = { name: 'kafka', durable: true, stateIn: 'log' } as StreamTransport;
    const file = { name: 'file', durable: true, stateIn: 'files' } as StreamTransport;
    const given = new MemoryStore();
    expect(stateStoreFor({ role: 'replica', stateStore: given, transport: memory, producer, config: cfg })).toBeNull();
    expect(stateStoreFor({ role: 'processor', stateStore: given, transport: memory, producer, config: cfg })).toBe(given);
    expect(stateStoreFor({ role: 'processor', stateStore: null, transport: memory, producer, config: cfg })).toBeNull();
    expect(stateStoreFor({ role: 'processor', transport: memory, producer, config: cfg })).toBeInstanceOf(FileSnapshotStore);
    expect(stateStoreFor({ role: 'processor', transport: file, producer, config: cfg })).toBeInstanceOf(FileSnapshotStore);
    expect(stateStoreFor({ role: 'processor', transport: kafka, producer, config: cfg })).toBeInstanceOf(TopicSnapshotStore);
  });
});
