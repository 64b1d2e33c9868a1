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

  it('replaces an object whole when that is shorter than the operations on its members, not otherwise', () => {
    const row = { lotId: 'L1', spaces: 40, occupied: 10, free: 30, occupancy: 0.25, sessions: 7, meanDwellMin: 31.5 };
    const car = { ...row, occupied: 11, free: 29, occupancy: 0.275, sessions: 8, meanDwellMin: 30.8125 };
    const size = (ops: unknown[]) => JSON.stringify(ops).length;
    const whole = diff({ list: [row] }, { list: [car] });
    expect(whole).toEqual([{ op: 'replace', path: '/list/0', value: car }]);
    // The same change on a row whose unchanged members are long (a name, a description): one operation per member.
    const named = { ...row, lotName: 'Quancheng Square underground car park, north entrance, levels B1-B3. '.repeat(3) };
    const members = diff({ list: [named] }, { list: [{ ...named, ...car, lotName: named.lotName }] });
    expect(members.map((op) => op.path)).toEqual([
      '/list/0/occupied',
      '/list/0/free',
      '/list/0/occupancy',
      '/list/0/sessions',
      '/list/0/meanDwellMin',
    ]);
    expect(size(members)).toBeLessThan(size([{ op: 'replace', path: '/list/0', value: { ...named, ...car, lotName: named.lotName } }]));
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
