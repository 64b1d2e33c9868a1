import { describe, expect, it } from 'vitest';
import { partitionFor } from '../core/index.js';
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
});
