import { parseJson, TOPICS, type Producer, type StreamTransport } from '../../core/index.js';
import { readToEnd } from './read-topic.js';
import { parseSnapshot, type NodeSnapshot, type PartitionSnapshot, type SnapshotStore } from './snapshot.js';

/** Largest part of a snapshot in one log record (Kafka's default record limit is 1 MB). */
const PART_BYTES = 512 * 1024;

interface Part {
  /** Which snapshot this part belongs to, and how many parts it has. */
  id: string;
  part: number;
  parts: number;
  snapshot: PartitionSnapshot;
}

/**
 * Kafka: snapshots on the compacted topic `state.processors`, keyed `telemetry.raw:<p>#<part>`. A
 * snapshot is cut into parts of at most PART_BYTES (node states split between them), all sent in
 * one call; a restore takes the newest snapshot whose parts are all there (a write cut short
 * leaves the previous one usable, or none: then the partition is rebuilt from its earliest record).
 */
export class TopicSnapshotStore implements SnapshotStore {
  readonly name = 'topic';
  #seq = 0;

  constructor(
    readonly transport: StreamTransport,
    readonly producer: Producer,
    readonly topic: string = TOPICS.state,
  ) {}

  async save(snapshots: PartitionSnapshot[]): Promise<void> {
    const messages = snapshots.flatMap((snapshot) => {
      const id = `${snapshot.takenAt}-${process.pid}-${++this.#seq}`;
      const groups: Record<string, NodeSnapshot>[] = [{}];
      let size = 0;
      for (const [nodeId, state] of Object.entries(snapshot.nodes)) {
        const bytes = JSON.stringify(state).length + nodeId.length + 8;
        if (size + bytes > PART_BYTES && Object.keys(groups[groups.length - 1]!).length > 0) {
          groups.push({});
          size = 0;
        }
        groups[groups.length - 1]![nodeId] = state;
        size += bytes;
      }
      const source = `${TOPICS.raw}:${snapshot.partition}`;
      return groups.map((nodes, part) => {
        const value: Part = { id, part, parts: groups.length, snapshot: { ...snapshot, nodes } };
        return { key: `${source}#${part}`, value: Buffer.from(JSON.stringify(value)) };
      });
    });
    if (messages.length > 0) await this.producer.send(this.topic, messages);
  }

  async load(partitions: number[]): Promise<Map<number, PartitionSnapshot>> {
    const wanted = new Set(partitions);
    // partition -> snapshot id -> parts
    const found = new Map<number, Map<string, Map<number, Part>>>();
    await readToEnd(this.transport, this.topic, (record) => {
      const v = parseJson(record.value) as Partial<Part> | undefined;
      const snapshot = parseSnapshot(v?.snapshot);
      if (!v || !snapshot || typeof v.id !== 'string' || typeof v.part !== 'number' || typeof v.parts !== 'number') return;
      if (!wanted.has(snapshot.partition)) return;
      let byId = found.get(snapshot.partition);
      if (!byId) found.set(snapshot.partition, (byId = new Map<string, Map<number, Part>>()));
      let parts = byId.get(v.id);
      if (!parts) byId.set(v.id, (parts = new Map<number, Part>()));
      parts.set(v.part, { id: v.id, part: v.part, parts: v.parts, snapshot });
    });
    const out = new Map<number, PartitionSnapshot>();
    for (const [partition, byId] of found) {
      let best: PartitionSnapshot | undefined;
      for (const parts of byId.values()) {
        const first = parts.values().next().value as Part;
        if (parts.size !== first.parts) continue; // incomplete (overwritten in part, or cut short)
        const nodes: Record<string, NodeSnapshot> = {};
        for (const p of parts.values()) Object.assign(nodes, p.snapshot.nodes);
        const snapshot = { ...first.snapshot, nodes };
        if (!best || snapshot.offset > best.offset || (snapshot.offset === best.offset && snapshot.takenAt > best.takenAt)) best = snapshot;
      }
      if (best) out.set(partition, best);
    }
    return out;
  }
}
