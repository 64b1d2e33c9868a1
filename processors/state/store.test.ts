import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryTransport, TOPICS, topicSpecs } from '../../core/index.js';
import { FileSnapshotStore, TopicSnapshotStore, type PartitionSnapshot } from './index.js';
import { defaultKinds } from '../../core/kinds/modules.js';

const snapshot = (partition: number, offset: number, nodes: PartitionSnapshot['nodes']): PartitionSnapshot => ({
  version: 1,
  partition,
  partitions: 12,
  offset,
  maxTs: 1_000_000 + offset,
  since: 1_000_000,
  takenAt: 5_000 + offset,
  nodes,
});

describe('file snapshot store (embedded)', () => {
  it('round-trips, replaces atomically (no temp files left) and ignores what is not a snapshot', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'city-brain-store-'));
    const store = new FileSnapshotStore(join(dir, 'state'));
    await store.save([snapshot(0, 10, { a: { k: { x: 1 } } }), snapshot(3, 7, { b: { h: { lastSeen: 5 } } })]);
    await store.save([snapshot(0, 20, { a: { k: { x: 2 } } })]);
    writeFileSync(join(dir, 'state', 'raw-5.json'), '{"version":1,"partition":5'); // cut short by hand
    const loaded = await store.load([0, 3, 5, 7]);
    expect([...loaded.keys()].sort()).toEqual([0, 3]);
    expect(loaded.get(0)).toEqual(snapshot(0, 20, { a: { k: { x: 2 } } }));
    expect(readdirSync(join(dir, 'state')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('topic snapshot store (Kafka layout, on the in-process log)', () => {
  it('cuts a large snapshot into parts and takes the newest snapshot whose parts are all there', async () => {
    const transport = new MemoryTransport();
    await transport.ensureTopics(topicSpecs(defaultKinds()));
    const producer = await transport.producer();
    const store = new TopicSnapshotStore(transport, producer);
    const big = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`node-${i}`, { k: { pad: 'x'.repeat(300), i } }]));
    await store.save([snapshot(4, 100, big), snapshot(6, 50, { c: { d: [[1, null]] } })]);
    // About 1 MB for partition 4: two parts of at most 512 KiB, and one for partition 6.
    expect(transport.topic(TOPICS.state)[0]!.records.map((r) => r.key)).toEqual([
      `${TOPICS.raw}:4#0`,
      `${TOPICS.raw}:4#1`,
      `${TOPICS.raw}:6#0`,
    ]);
    // A newer snapshot of partition 4 cut short: only its first part reached the log.
    const newer = { id: 'cut', part: 0, parts: 3, snapshot: snapshot(4, 200, { 'node-0': { k: { i: -1 } } }) };
    await producer.send(TOPICS.state, [{ key: `${TOPICS.raw}:4#0`, value: Buffer.from(JSON.stringify(newer)) }]);
    const loaded = await store.load([4, 6, 8]);
    expect(loaded.get(4)!.offset).toBe(100);
    expect(Object.keys(loaded.get(4)!.nodes)).toHaveLength(3000);
    expect(loaded.get(4)!.nodes['node-2999']).toEqual(big['node-2999']);
    expect(loaded.get(6)).toEqual(snapshot(6, 50, { c: { d: [[1, null]] } }));
    expect(loaded.has(8)).toBe(false);
    await transport.close();
  });
});
