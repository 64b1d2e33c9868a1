import { describe, expect, it } from 'vitest';
import { MAX_ALERT_NOTES, type Alert, type AlertCondition } from '../../core/index.js';
import { AlertEvaluator } from './evaluator.js';
import { fingerprint } from './fingerprint.js';

const dark: AlertCondition = {
  alertname: 'CircuitDark',
  severity: 'major',
  labels: { kind: 'streetlight', district: 'Lixia', circuit: 'C1' },
  summary: 'dark',
};

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

  it("a condition with its own hold (a profile rule's holdS) uses it instead of the pipeline's", () => {
    const e = new AlertEvaluator({ holdMs: 60_000, resolveHoldMs: 0 });
    const flooded: AlertCondition = {
      alertname: 'RoadWaterlogging',
      severity: 'major',
      holdMs: 120_000,
      labels: { kind: 'waterlogging', district: 'Lixia', node: 'WL-1' },
      summary: 'flooded',
    };
    const open: AlertCondition = {
      alertname: 'ManholeCoverOpen',
      severity: 'critical',
      holdMs: 0,
      labels: { kind: 'manhole', district: 'Lixia', node: 'MH-1' },
      summary: 'open',
    };
    expect(e.evaluate([flooded, open], 0)).toMatchObject([{ alertname: 'ManholeCoverOpen', firedAt: 0 }]);
    expect(e.evaluate([flooded, open], 119_999)).toEqual([]);
    expect(e.evaluate([flooded, open], 120_000)).toMatchObject([{ alertname: 'RoadWaterlogging', startsAt: 0, firedAt: 120_000 }]);
  });

  it('a condition that says since when it holds (from the data) is held from then: a backlog arriving at once fires at once', () => {
    const e = new AlertEvaluator({ holdMs: 60_000, resolveHoldMs: 0 });
    const flooded: AlertCondition = {
      alertname: 'RoadWaterlogging',
      severity: 'major',
      holdMs: 120_000,
      since: 0,
      labels: { kind: 'waterlogging', district: 'Lixia', node: 'WL-1' },
      summary: 'flooded',
    };
    // First seen at 90 s (the readings of the last 90 s came in one batch): not yet 2 minutes.
    expect(e.evaluate([flooded], 90_000)).toEqual([]);
    expect(e.evaluate([flooded], 120_000)).toMatchObject([{ startsAt: 0, firedAt: 120_000 }]);
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
    const crew = { by: 'Wang Lei', role: 'crew' };
    expect(e.acknowledge(alert!.id, crew, 5, 'crew on site')).toMatchObject({
      state: 'acknowledged',
      acknowledgedBy: 'Wang Lei',
      acknowledgedAt: 5,
    });
    expect(e.list('acknowledged')).toHaveLength(1);
    expect(e.evaluate([], 10)).toMatchObject([{ state: 'resolved', acknowledgedBy: 'Wang Lei' }]);
    expect(e.acknowledge(alert!.id, crew, 11)).toBe('not-active');
    expect(e.acknowledge('0000000000000000', crew, 11)).toBe('not-found');
  });

  it('keeps who did what: the acknowledgement and later notes, on active and resolved alerts, bounded', () => {
    const e = new AlertEvaluator({ holdMs: 0, resolveHoldMs: 0 });
    const [alert] = e.evaluate([dark], 0);
    const handed = e.acknowledge(alert!.id, { by: 'Wang Lei', role: 'crew' }, 5, 'crew on site') as Alert;
    // A second acknowledgement is a note; it does not move the time or person of the first.
    expect(e.acknowledge(alert!.id, { by: 'Li Na', role: 'operator' }, 6, 'escalated')).toMatchObject({
      acknowledgedBy: 'Wang Lei',
      acknowledgedAt: 5,
    });
    e.evaluate([], 10);
    expect(e.note(alert!.id, { by: 'Wang Lei', role: 'crew' }, 'cable replaced', 12)).toMatchObject({ state: 'resolved' });
    expect(e.list('resolved')[0]!.notes).toEqual([
      { by: 'Wang Lei', role: 'crew', at: 5, action: 'ack', text: 'crew on site' },
      { by: 'Li Na', role: 'operator', at: 6, action: 'note', text: 'escalated' },
      { by: 'Wang Lei', role: 'crew', at: 12, action: 'note', text: 'cable replaced' },
    ]);
    expect(handed.notes).toHaveLength(1); // what was handed out earlier does not change behind its owner's back
    expect(e.note('0000000000000000', { by: 'x', role: 'crew' }, 'y', 13)).toBe('not-found');
    for (let i = 0; i < MAX_ALERT_NOTES + 5; i++) e.note(alert!.id, { by: 'bot', role: 'admin' }, `n${i}`, 20 + i);
    const notes = e.list('resolved')[0]!.notes!;
    expect(notes).toHaveLength(MAX_ALERT_NOTES);
    expect(notes.at(-1)!.text).toBe(`n${MAX_ALERT_NOTES + 4}`);
  });

  it('keeps its whole lifecycle across a restart: a hold in progress, a resolve hold, the history', () => {
    const c2: AlertCondition = { ...dark, labels: { ...dark.labels, circuit: 'C2' } };
    const c3: AlertCondition = { ...dark, labels: { ...dark.labels, circuit: 'C3' } };
    const steps = [
      [0, [dark, c3]],
      [30_000, [dark, c2, c3]],
      [60_000, [dark, c2]],
      [100_000, [c2]],
      [130_000, [c2]],
    ] as const;
    const make = () => new AlertEvaluator({ holdMs: 60_000, resolveHoldMs: 30_000 });
    const feed = (e: AlertEvaluator, from: number, to: number) =>
      steps.filter(([t]) => t >= from && t <= to).flatMap(([t, c]) => e.evaluate([...c], t));
    const uninterrupted = make();
    const expected = feed(uninterrupted, 0, Infinity);
    expect(expected.map((a) => `${a.labels.circuit} ${a.state} ${a.updatedAt}`)).toEqual([
      'C1 firing 60000',
      'C2 firing 100000',
      'C1 resolved 130000',
    ]);
    // Stopped after t = 60 s (C2 pending since 30 s, C3 gone), restarted from its exported state.
    const before = make();
    const first = feed(before, 0, 60_000);
    const after = make();
    after.importState(JSON.parse(JSON.stringify(before.exportState())));
    expect([...first, ...feed(after, 60_001, Infinity)]).toEqual(expected);
    expect(after.list()).toEqual(uninterrupted.list());
  });

  it('moves its revision with every change of the lifecycle, and not when only values and summaries move', () => {
    const e = new AlertEvaluator({ holdMs: 20, resolveHoldMs: 20 });
    // The saved state without what moves at every evaluation: equal whenever the revision stayed.
    const lifecycle = () =>
      JSON.stringify(e.exportState(), (key, v: unknown) =>
        key === 'value' || key === 'summary' || key === 'updatedAt' || key === 'condition' ? undefined : v,
      );
    const circuits = ['C1', 'C2', 'C3', 'C4'];
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    let [unchanged, changed] = [0, 0];
    for (let t = 0; t < 3_000; t += 10) {
      const [revision, before] = [e.revision, lifecycle()];
      const conditions = circuits
        .filter(() => random() < 0.6)
        .map((circuit) => ({ ...dark, labels: { ...dark.labels, circuit }, value: Math.round(random() * 100), summary: `dark ${t}` }));
      e.evaluate(conditions, t);
      if (random() < 0.05 && e.active()[0]) e.acknowledge(e.active()[0]!.id, { by: 'crew', role: 'crew' }, t);
      if (e.revision === revision) {
        expect(lifecycle(), `t=${t}`).toBe(before);
        unchanged++;
      } else changed++;
    }
    expect(unchanged).toBeGreaterThan(10);
    expect(changed).toBeGreaterThan(10);
    // The same conditions with other values: the revision stays.
    const steady = new AlertEvaluator({ holdMs: 0, resolveHoldMs: 0 });
    steady.evaluate([{ ...dark, value: 1 }], 0);
    const fired = steady.revision;
    steady.evaluate([{ ...dark, value: 2, summary: 'darker' }], 10);
    expect(steady.revision).toBe(fired);
    expect(steady.active()[0]).toMatchObject({ value: 2, summary: 'darker' });
  });

  it('gives the same problem the same id, independent of label order and process', () => {
    const [a] = new AlertEvaluator({ holdMs: 0, resolveHoldMs: 0 }).evaluate([dark], 0);
    expect(a!.id).toBe(fingerprint({ circuit: 'C1', district: 'Lixia', kind: 'streetlight', severity: 'major', alertname: 'CircuitDark' }));
    expect(a!.id).toMatch(/^[0-9a-f]{16}$/);
  });
});
