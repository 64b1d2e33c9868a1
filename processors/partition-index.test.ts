import { describe, expect, it } from 'vitest';
import { partitionFor } from '../core/index.js';
import { defaultKinds } from '../core/kinds/modules.js';
import type { RegistryChange } from '../core/registry/change.js';
import { NodeRegistry } from '../core/registry/registry.js';
import { lamp, STATION } from '../test/fixtures.js';
import { PartitionIndex } from './partition-index.js';

const station = STATION;
const nodes = [lamp(1), station, lamp(2), lamp(3)];

describe('partition index', () => {
  it('groups the nodes of a partition by kind, in registry order', () => {
    const index = new PartitionIndex(nodes, 1);
    expect(index.all(0).map((n) => n.nodeId)).toEqual(['SL-1', 'NS-1', 'SL-2', 'SL-3']);
    expect(index.ofKind(0, 'streetlight').map((n) => n.nodeId)).toEqual(['SL-1', 'SL-2', 'SL-3']);
    expect(index.ofKind(0, 'noise').map((n) => n.nodeId)).toEqual(['NS-1']);
    expect(index.ofKind(0, 'parking')).toEqual([]);
    expect(index.all(1)).toEqual([]);
  });

  it('places each node once, on the partition ingest keys its readings to', () => {
    const many = Array.from({ length: 40 }, (_, i) => lamp(i));
    const index = new PartitionIndex(many, 12);
    const placed = Array.from({ length: 12 }, (_, p) => index.all(p).map((n) => n.nodeId));
    expect(placed.flat().sort()).toEqual(many.map((n) => n.nodeId).sort());
    for (const [p, ids] of placed.entries()) for (const id of ids) expect(partitionFor(id, 12)).toBe(p);
  });

  it('hands out the same lists every time (the processors cache their layouts per list)', () => {
    const index = new PartitionIndex(nodes, 1);
    expect(index.all(0)).toBe(index.all(0));
    expect(index.ofKind(0, 'streetlight')).toBe(index.ofKind(0, 'streetlight'));
  });

  it('lays out a partition again once the registry is quiet for settleMs, or maxStaleMs after the first change', () => {
    let now = 0;
    const registry = new NodeRegistry([lamp(1)], [], defaultKinds());
    const index = new PartitionIndex(registry.all(), 1, { settleMs: 1_000, maxStaleMs: 3_000, now: () => now });
    index.follow(registry);
    const create = (i: number): RegistryChange => ({
      changeId: `c${i}`,
      at: now,
      op: 'create',
      entity: 'node',
      id: `SL-${i}`,
      value: lamp(i),
      by: { name: 'test', role: 'admin' },
    });
    const ids = () => index.all(0).map((n) => n.nodeId);
    expect(ids()).toEqual(['SL-1']);
    registry.apply([create(2)]);
    now = 999;
    expect(ids()).toEqual(['SL-1']);
    now = 1_000;
    expect(ids()).toEqual(['SL-1', 'SL-2']);
    // A change every 800 ms never leaves it quiet for 1 s: the lists follow 3 s after the first (at 1,800).
    for (let i = 3; i <= 7; i++) {
      now += 800;
      registry.apply([create(i)]);
      expect([now, ids().length]).toEqual([now, now - 1_800 >= 3_000 ? 7 : 2]);
    }
  });
});
