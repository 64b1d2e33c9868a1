import { describe, expect, it } from 'vitest';
import { boundedJson, DEPTH_CUT } from './bounded-json.js';

describe('boundedJson', () => {
  it('is JSON.stringify for small, shallow values', () => {
    const v = { a: [1, 'x', null, true, { b: -2.5 }], c: 'q"uote' };
    expect(boundedJson(v, 32, 4096)).toEqual({ text: JSON.stringify(v), depthCut: false, sizeCut: false });
  });

  it('cuts a value nested 5,000 levels deep instead of throwing RangeError', () => {
    const deep = JSON.parse(`${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`) as unknown;
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    const { text, depthCut } = boundedJson(deep, 3, 4096);
    expect(depthCut).toBe(true);
    expect(JSON.parse(text)).toEqual({ a: { a: { a: DEPTH_CUT } } });
  });

  it('stops once past maxBytes, however large the value', () => {
    const wide = Array.from({ length: 500_000 }, () => 1);
    const { text, sizeCut } = boundedJson(wide, 32, 1000);
    expect(sizeCut).toBe(true);
    expect(text.length).toBeLessThan(1100);
    expect(boundedJson('x'.repeat(1_000_000), 32, 100).text.length).toBeLessThan(110);
  });
});
