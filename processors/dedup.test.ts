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
