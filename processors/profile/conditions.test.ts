import { describe, expect, it } from 'vitest';
import type { ProfileWhen } from '../../core/index.js';
import { formatValue, holds, meets, quotedField, renderSummary } from './conditions.js';
import { addTo, roundSum } from './fsum.js';
import { profileNode } from './test-kit.js';

const plain = profileNode('waterlogging', 'WL-1', 'Lixia', { point: 'Lishan Road underpass' }); // closureDepthM defaults to 0.3
const own = profileNode('waterlogging', 'WL-2', 'Lixia', { point: 'Quancheng underpass', road: 'Quancheng Road', closureDepthM: 0.2 });
const cover = profileNode('manhole', 'MH-1', 'Shizhong', {}); // network defaults to storm, no road

describe('profile conditions', () => {
  it('compares numbers with every operator', () => {
    const v = { depthM: 0.15 };
    expect(meets({ field: 'depthM', op: 'gt', value: 0.15 }, v, plain)).toBe(false);
    expect(meets({ field: 'depthM', op: 'gte', value: 0.15 }, v, plain)).toBe(true);
    expect(meets({ field: 'depthM', op: 'lt', value: 0.2 }, v, plain)).toBe(true);
    expect(meets({ field: 'depthM', op: 'lte', value: 0.1 }, v, plain)).toBe(false);
    expect(meets({ field: 'depthM', op: 'eq', value: 0.15 }, v, plain)).toBe(true);
    expect(meets({ field: 'depthM', op: 'ne', value: 0.15 }, v, plain)).toBe(false);
  });

  it('reads an attribute threshold from the node (0.25 is over WL-2 own 0.2, not over the default 0.3)', () => {
    const over = { field: 'depthM', op: 'gt', value: { attribute: 'closureDepthM' } } as const;
    expect(meets(over, { depthM: 0.25 }, own)).toBe(true);
    expect(meets(over, { depthM: 0.25 }, plain)).toBe(false);
    expect(meets(over, { depthM: 0.31 }, plain)).toBe(true);
    // A node without the attribute (not possible once the registry filled defaults) meets nothing.
    expect(meets(over, { depthM: 5 }, { ...plain, closureDepthM: undefined })).toBe(false);
  });

  it('a missing field never meets a condition, not even ne; types never mix', () => {
    expect(meets({ field: 'tiltDeg', op: 'ne', value: 0 }, {}, cover)).toBe(false);
    expect(meets({ field: 'open', op: 'ne', value: true }, {}, cover)).toBe(false);
    expect(meets({ field: 'open', op: 'eq', value: true }, { open: 1 }, cover)).toBe(false);
    expect(meets({ field: 'open', op: 'ne', value: true }, { open: false }, cover)).toBe(true);
    expect(meets({ field: 'open', op: 'gt', value: false }, { open: true }, cover)).toBe(false);
  });

  it('any / all / one condition', () => {
    const any: ProfileWhen = {
      any: [
        { field: 'open', op: 'eq', value: true },
        { field: 'tiltDeg', op: 'gt', value: 15 },
      ],
    };
    const all: ProfileWhen = {
      all: [
        { field: 'open', op: 'eq', value: true },
        { field: 'tiltDeg', op: 'gt', value: 15 },
      ],
    };
    expect(holds(any, { open: false, tiltDeg: 20 }, cover)).toBe(true);
    expect(holds(all, { open: false, tiltDeg: 20 }, cover)).toBe(false);
    expect(holds(all, { open: true, tiltDeg: 20 }, cover)).toBe(true);
    expect(holds(any, { open: false }, cover)).toBe(false);
    expect(holds({ field: 'open', op: 'eq', value: true }, { open: true }, cover)).toBe(true);
    // The quoted field: the first condition that holds, else the first one.
    expect(quotedField(any, { open: false, tiltDeg: 20 }, cover)).toBe('tiltDeg');
    expect(quotedField(any, { open: true, tiltDeg: 20 }, cover)).toBe('open');
    expect(quotedField(any, { open: false, tiltDeg: 1 }, cover)).toBe('open');
  });

  it('renders summaries: attributes, {kind}, {value}; an absent one as -', () => {
    expect(renderSummary('{point} ({district}): {value} m, closure {closureDepthM} m on {road}', own, 0.2345678)).toBe(
      'Quancheng underpass (Lixia): 0.235 m, closure 0.2 m on Quancheng Road',
    );
    expect(renderSummary('{kind} {nodeId} on {road}, {network}: {value}', cover, undefined)).toBe('manhole MH-1 on -, storm: -');
    expect(formatValue(true)).toBe('true');
    expect(formatValue(20)).toBe('20');
  });
});

describe('exact sums', () => {
  it('any order of adding gives the same correctly rounded sum', () => {
    // (0.1 + 0.2) + 0.3 = 0.6000000000000001 but 0.1 + (0.2 + 0.3) = 0.6 in doubles; the exact sum of the three doubles rounds to 0.6.
    expect(0.1 + 0.2 + 0.3).not.toBe(0.1 + (0.2 + 0.3));
    for (const order of [
      [0.1, 0.2, 0.3],
      [0.3, 0.2, 0.1],
      [0.2, 0.3, 0.1],
    ]) {
      const p: number[] = [];
      for (const x of order) addTo(p, x);
      expect(roundSum(p)).toBe(0.6);
    }
    // 1e16 + 1 - 1e16 is 0 in plain doubles; exactly it is 1.
    const p: number[] = [];
    for (const x of [1e16, 1, -1e16]) addTo(p, x);
    expect(roundSum(p)).toBe(1);
    expect(roundSum([])).toBe(0);
  });
});
