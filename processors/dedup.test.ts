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
