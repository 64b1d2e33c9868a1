import { describe, expect, it } from 'vitest';
import { appendAll } from './types.js';

describe('appendAll', () => {
  it('appends more items than spread arguments allow (a city-wide condition list)', () => {
    const many = Array.from({ length: 300_000 }, (_, i) => i);
    expect(() => [].push(...(many as never[]))).toThrow(RangeError); // why it exists
    const target = [-1];
    appendAll(target, many);
    expect(target).toHaveLength(300_001);
    expect(target[300_000]).toBe(299_999);
  });
});
