import { describe, expect, it } from 'vitest';
import { seededRandom } from '../core/random.js';
import { applyPatch, diff } from './json-patch.js';

const clone = <T>(v: T): T => structuredClone(v);

describe('KPI document patches', () => {
  it('names only what changed, by RFC 6901 pointers', () => {
    const prev = {
      evaluatedAt: 1000,
      parking: {
        occupancy: 0.5,
        list: [
          { lotId: 'A', occupied: 1, free: 3, state: 'normal', spaces: 4 },
          { lotId: 'B/1', occupied: 0 },
        ],
      },
      'a~b': { x: 1 },
    };
    const next = {
      evaluatedAt: 2000,
      parking: {
        occupancy: 0.5,
        list: [
          { lotId: 'A', occupied: 2, free: 3, state: 'normal', spaces: 4 },
          { lotId: 'B/1', occupied: 0 },
        ],
      },
      'a~b': { x: 2, y: null },
    };
    expect(diff(prev, next)).toEqual([
      { op: 'replace', path: '/evaluatedAt', value: 2000 },
      { op: 'replace', path: '/parking/list/0/occupied', value: 2 },
      // Both members of a~b changed: the object is replaced whole, the key escaped.
      { op: 'replace', path: '/a~0b', value: { x: 2, y: null } },
    ]);
    expect(diff(next, next)).toEqual([]);
  });

  it('adds and removes sections, replaces a list whose length changed', () => {
    const prev = { evaluatedAt: 1, noise: { list: [1, 2] }, tank: { mean: 4 } };
    const next = { evaluatedAt: 1, noise: { list: [1, 2, 3] }, parking: { lots: 0 } };
    expect(diff(prev, next)).toEqual([
      { op: 'replace', path: '/noise/list', value: [1, 2, 3] },
      { op: 'add', path: '/parking', value: { lots: 0 } },
      { op: 'remove', path: '/tank' },
    ]);
    expect(applyPatch(clone(prev), diff(prev, next))).toEqual(next);
  });

  it('turns any document into any other (random documents, 2,000 pairs)', () => {
    const rand = seededRandom(7);
    const value = (depth: number): unknown => {
      const r = rand();
      if (depth > 3 || r < 0.35) return [null, true, 0, 1.5, 'a', 'b/c'][Math.floor(rand() * 6)];
      if (r < 0.6) return Array.from({ length: Math.floor(rand() * 4) }, () => value(depth + 1));
      return Object.fromEntries(
        Array.from({ length: Math.floor(rand() * 4) }, (_, i) => [`k${i}~${rand() < 0.5 ? '/' : ''}`, value(depth + 1)]),
      );
    };
    const mutate = (v: unknown): unknown => {
      if (rand() < 0.3) return value(2);
      if (Array.isArray(v)) return v.map(mutate);
      if (v && typeof v === 'object')
        return Object.fromEntries(
          Object.entries(v)
            .filter(() => rand() < 0.9)
            .map(([k, x]) => [k, mutate(x)]),
        );
      return v;
    };
    for (let i = 0; i < 2000; i++) {
      const prev = { evaluatedAt: i, doc: value(0) } as Record<string, unknown>;
      const next = { evaluatedAt: i + 1, doc: mutate(prev.doc) } as Record<string, unknown>;
      expect(applyPatch(clone(prev), diff(prev, next))).toEqual(next);
    }
  });

  it('refuses a path that does not resolve, so a client knows to resynchronise', () => {
    expect(() => applyPatch({ a: {} }, [{ op: 'replace', path: '/b/c', value: 1 }])).toThrow('patch path /b/c does not resolve');
    expect(() => applyPatch({ a: {} }, [{ op: 'replace', path: '/a/c', value: 1 }])).toThrow('does not resolve');
  });
});
