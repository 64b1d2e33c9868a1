import { describe, expect, it } from 'vitest';
import type { AlertCondition } from '../../core/index.js';
import { AlertEvaluator } from './evaluator.js';
import { fingerprint } from './fingerprint.js';

const dark: AlertCondition = { alertname: 'CircuitDark', severity: 'major', labels: { kind: 'streetlight', district: 'Lixia', circuit: 'C1' }, summary: 'dark' };

describe('alert evaluator', () => {
  it('fires only after the hold time, then resolves after the resolve hold', () => {
    const e = new AlertEvaluator({ holdMs: 60_000, resolveHoldMs: 30_000 });
    expect(e.evaluate([dark], 0)).toEqual([]);
    expect(e.evaluate([dark], 59_999)).toEqual([]);
    const fired = e.evaluate([dark], 60_000);
    expect(fired).toMatchObject([{ state: 'firing', startsAt: 0, firedAt: 60_000 }]);
    expect(e.evaluate([], 70_000)).toEqual([]);
    expect(e.evaluate([dark], 80_000)).toEqual([]); // back within the resolve hold: still the same alert
    expect(e.evaluate([], 90_000)).toEqual([]);
    expect(e.evaluate([], 120_000)).toMatchObject([{ state: 'resolved', resolvedAt: 120_000 }]);
  });

  it('drops a condition that disappears during its hold (no flapping alert)', () => {
    const e = new AlertEvaluator({ holdMs: 60_000, resolveHoldMs: 0 });
    e.evaluate([dark], 0);
    e.evaluate([], 30_000);
    expect(e.evaluate([dark], 61_000)).toEqual([]);
  });

  it('goes firing -> acknowledged -> resolved', () => {
    const e = new AlertEvaluator({ holdMs: 0, resolveHoldMs: 0 });
    const [alert] = e.evaluate([dark], 0);
    expect(e.acknowledge(alert!.id, 'crew-7', 5)).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'crew-7' });
    expect(e.list('acknowledged')).toHaveLength(1);
    expect(e.evaluate([], 10)).toMatchObject([{ state: 'resolved', acknowledgedBy: 'crew-7' }]);
    expect(e.acknowledge(alert!.id, 'crew-7', 11)).toBe('not-active');
    expect(e.acknowledge('0000000000000000', 'crew-7', 11)).toBe('not-found');
  });

  it('gives the same problem the same id, independent of label order and process', () => {
    const [a] = new AlertEvaluator({ holdMs: 0, resolveHoldMs: 0 }).evaluate([dark], 0);
    expect(a!.id).toBe(fingerprint({ circuit: 'C1', district: 'Lixia', kind: 'streetlight', severity: 'major', alertname: 'CircuitDark' }));
    expect(a!.id).toMatch(/^[0-9a-f]{16}$/);
  });
});
