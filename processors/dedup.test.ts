import { describe, expect, it } from 'vitest';
import { Deduplicator } from './dedup.js';

describe('deduplicator', () => {
  it('flags the same node and timestamp again, not other nodes or new timestamps', () => {
    const d = new Deduplicator(2);
    expect(d.seen('a', 1)).toBe(false);
    expect(d.seen('a', 1)).toBe(true);
    expect(d.seen('b', 1)).toBe(false);
    expect(d.seen('a', 2)).toBe(false);
    expect(d.seen('a', 3)).toBe(false);
    expect(d.seen('a', 1)).toBe(false); // beyond its memory: processing is idempotent anyway
  });
});

describe('deduplicator by sequence number', () => {
  it('flags the same node and seq with another timestamp, and survives export/import', () => {
    const d = new Deduplicator(4);
    expect(d.seen('a', 1000, 7)).toBe(false);
    expect(d.seen('a', 2000, 7)).toBe(true); // resent with a re-stamped ts
    expect(d.seen('a', 1000, 8)).toBe(true); // same ts
    expect(d.seen('a', 3000, 8)).toBe(false);
    expect(d.seen('a', 4000)).toBe(false); // no seq: judged on ts alone
    const copy = new Deduplicator(4);
    copy.importNode('a', JSON.parse(JSON.stringify(d.exportNode('a'))));
    expect(copy.seen('a', 5000, 8)).toBe(true);
    expect(copy.seen('a', 4000)).toBe(true);
    expect(copy.seen('a', 6000, 9)).toBe(false);
    expect(d.exportNode('nobody')).toBeUndefined();
  });
});

describe('deduplicator memory', () => {
  it('keeps the last `depth` readings across the ring wrapping, exported oldest first as [ts, seq | null]', () => {
    const d = new Deduplicator(3);
    for (const [ts, seq] of [
      [1, 1],
      [2, undefined],
      [3, 3],
      [4, 4],
      [5, undefined],
    ] as const)
      expect(d.seen('a', ts, seq)).toBe(false);
    expect(d.exportNode('a')).toEqual([
      [3, 3],
      [4, 4],
      [5, null],
    ]);
    expect(d.seen('a', 9, 3)).toBe(true); // seq 3 still remembered
    expect(d.seen('a', 2)).toBe(false); // ts 2 was written over
    // A snapshot longer than the depth (taken with a larger one) keeps its newest readings.
    const copy = new Deduplicator(2);
    copy.importNode('a', [
      [1, 1],
      [2, 2],
      [3, null],
    ]);
    expect(copy.exportNode('a')).toEqual([
      [2, 2],
      [3, null],
    ]);
    expect(copy.seen('a', 1, 1)).toBe(false);
  });
});
