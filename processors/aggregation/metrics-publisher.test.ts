import { describe, expect, it } from 'vitest';
import { keyedList, loadConfig, TOPICS, topicSpecs } from '../../core/index.js';
import { defaultKinds } from '../../core/kinds/modules.js';
import { topicConfigEntries } from '../../core/stream/kafka-shared.js';
import { MetricsPublisher, metricsPublisherOptions } from './metrics-publisher.js';

const lots = [keyedList('list', 'lot', 'lotId')];
const options = { summaryIntervalMs: 10_000, itemIntervalMs: 300_000, refreshMs: 900_000 };
const section = (occupied: Record<string, number>, spaces = 10) => ({
  spaces,
  list: Object.entries(occupied).map(([lotId, n]) => ({ lotId, occupied: n })),
});

/** Runs one evaluation at wall time `now` (event time `now + 5`), commits it, and returns its records as `key -> value`. */
function evaluate(p: MetricsPublisher, now: number, s: unknown, topic = 'metrics.parking') {
  const plan = p.plan(now, now + 5, [{ topic, section: s, lists: lots }]);
  plan.commit();
  return Object.fromEntries((plan.records.get(topic) ?? []).map((m) => [m.key, JSON.parse(m.value.toString())]));
}

describe('metrics publisher: what an evaluation writes to the metrics topics', () => {
  it('writes the summary and every entry first, then nothing while nothing changed, and everything again after the refresh interval', () => {
    const p = new MetricsPublisher(options);
    expect(evaluate(p, 0, section({ A: 1, B: 2 }))).toEqual({
      city: { ts: 5, kpis: { spaces: 10 } },
      'lot:A': { ts: 5, list: 'list', item: { lotId: 'A', occupied: 1 } },
      'lot:B': { ts: 5, list: 'list', item: { lotId: 'B', occupied: 2 } },
    });
    // Unchanged: not re-sent before the refresh interval, whatever the other intervals.
    for (const now of [1000, 10_000, 300_000, 899_999]) expect(evaluate(p, now, section({ A: 1, B: 2 })), `at ${now}`).toEqual({});
    expect(Object.keys(evaluate(p, 900_000, section({ A: 1, B: 2 })))).toEqual(['city', 'lot:A', 'lot:B']);
  });

  it('does not serialise an entry written within its interval (evaluations come several times a second, entries at most every few minutes)', () => {
    const p = new MetricsPublisher(options);
    let serialised = 0;
    const counted = (occupied: number) => ({ lotId: 'A', occupied, toJSON: () => (serialised++, { lotId: 'A', occupied }) });
    p.plan(0, 5, [{ topic: 'metrics.parking', section: { list: [counted(1)] }, lists: lots }]).commit();
    expect(serialised).toBe(1);
    for (const now of [1000, 200_000, 299_999])
      p.plan(now, now + 5, [{ topic: 'metrics.parking', section: { list: [counted(2)] }, lists: lots }]).commit();
    expect(serialised).toBe(1);
    const due = p.plan(300_000, 300_005, [{ topic: 'metrics.parking', section: { list: [counted(2)] }, lists: lots }]);
    expect(serialised).toBe(2);
    expect(due.records.get('metrics.parking')?.map((m) => m.key)).toEqual(['lot:A']);
  });

  it('writes a changed summary at most every summary interval, with the value of the evaluation it is written at', () => {
    const p = new MetricsPublisher(options);
    evaluate(p, 0, section({ A: 1 }, 10));
    expect(evaluate(p, 1000, section({ A: 1 }, 11))).toEqual({});
    expect(evaluate(p, 9999, section({ A: 1 }, 12))).toEqual({});
    // The interval has passed: the latest value, even if nothing changed since the held-back change.
    expect(evaluate(p, 10_000, section({ A: 1 }, 12))).toEqual({ city: { ts: 10_005, kpis: { spaces: 12 } } });
    expect(evaluate(p, 15_000, section({ A: 1 }, 12))).toEqual({});
  });

  it('writes a changed entry at most every item interval, only that entry', () => {
    const p = new MetricsPublisher(options);
    evaluate(p, 0, section({ A: 1, B: 2 }));
    expect(evaluate(p, 60_000, section({ A: 2, B: 2 }))).toEqual({});
    expect(evaluate(p, 299_999, section({ A: 3, B: 2 }))).toEqual({});
    expect(evaluate(p, 300_000, section({ A: 3, B: 2 }))).toEqual({
      'lot:A': { ts: 300_005, list: 'list', item: { lotId: 'A', occupied: 3 } },
    });
    // B was written at 0 and has not changed: it is due at its refresh (900,000), A at its own (1,200,000).
    expect(Object.keys(evaluate(p, 900_000, section({ A: 3, B: 2 })))).toEqual(['city', 'lot:B']);
    expect(Object.keys(evaluate(p, 1_200_000, section({ A: 3, B: 2 })))).toEqual(['lot:A']);
  });

  it('writes an entry that left its list once as removed, at the same pace, and a new entry at once', () => {
    const p = new MetricsPublisher(options);
    evaluate(p, 0, section({ A: 1, B: 2 }));
    expect(evaluate(p, 1000, section({ A: 1, B: 2, C: 0 }))).toEqual({
      'lot:C': { ts: 1005, list: 'list', item: { lotId: 'C', occupied: 0 } },
    });
    expect(evaluate(p, 2000, section({ A: 1, C: 0 }))).toEqual({});
    expect(evaluate(p, 300_000, section({ A: 1, C: 0 }))).toEqual({ 'lot:B': { ts: 300_005, list: 'list', removed: true } });
    // Back within an item interval of its removal: held back like a change, then written.
    expect(evaluate(p, 310_000, section({ A: 1, B: 5, C: 0 }))).toEqual({});
    expect(evaluate(p, 600_000, section({ A: 1, B: 5, C: 0 }))).toEqual({
      'lot:B': { ts: 600_005, list: 'list', item: { lotId: 'B', occupied: 5 } },
    });
  });

  it('writes at once what an earlier run left on the topic: present entries again, those gone as removed', () => {
    const p = new MetricsPublisher(options);
    p.seen('metrics.parking', ['city', 'lot:A', 'lot:GONE']);
    expect(evaluate(p, 0, section({ A: 1, B: 2 }))).toEqual({
      city: { ts: 5, kpis: { spaces: 10 } },
      'lot:A': { ts: 5, list: 'list', item: { lotId: 'A', occupied: 1 } },
      'lot:B': { ts: 5, list: 'list', item: { lotId: 'B', occupied: 2 } },
      'lot:GONE': { ts: 5, list: 'list', removed: true },
    });
    expect(evaluate(p, 1000, section({ A: 1, B: 2 }))).toEqual({});
  });

  it('keeps what a failed write held: not committed, the same records are due again', () => {
    const p = new MetricsPublisher(options);
    const first = p.plan(0, 5, [{ topic: 't', section: section({ A: 1 }), lists: lots }]);
    expect(first.records.get('t')).toHaveLength(2);
    const again = p.plan(1000, 1005, [{ topic: 't', section: section({ A: 1 }), lists: lots }]);
    expect(again.records.get('t')?.map((m) => m.key)).toEqual(['city', 'lot:A']);
  });

  it('keeps topics apart and writes a section without lists as its summary alone', () => {
    const p = new MetricsPublisher(options);
    const plan = p.plan(0, 5, [
      { topic: 'metrics.parking', section: section({ A: 1 }), lists: lots },
      { topic: 'metrics.nodes', section: { total: 3, list: [1] }, lists: [] },
    ]);
    plan.commit();
    expect(plan.records.get('metrics.nodes')!.map((m) => [m.key, JSON.parse(m.value.toString())])).toEqual([
      ['city', { ts: 5, kpis: { total: 3, list: [1] } }],
    ]);
    expect(plan.records.get('metrics.parking')).toHaveLength(2);
  });

  it('holds the budget: an unchanged section or entry is not re-sent before its interval, a changing one not more often', () => {
    // Every evaluation (1 s) for an hour, the summary and every entry changing each time: per key at
    // most 1 + 3600 s / its interval records.
    // The settings' defaults, as the aggregator takes them.
    const defaults = metricsPublisherOptions(loadConfig({}));
    const p = new MetricsPublisher(defaults);
    const counts = new Map<string, number>();
    for (let s = 0; s < 3600; s++)
      for (const key of Object.keys(evaluate(p, s * 1000, section({ A: s, B: s, C: 0 }, s)))) counts.set(key, (counts.get(key) ?? 0) + 1);
    const { summaryIntervalMs, itemIntervalMs, refreshMs } = defaults;
    expect(counts.get('city')).toBe(1 + Math.floor(3_599_000 / summaryIntervalMs));
    expect(counts.get('lot:A')).toBe(1 + Math.floor(3_599_000 / itemIntervalMs));
    expect(counts.get('lot:C')).toBe(1 + Math.floor(3_599_000 / refreshMs));
    // The defaults: summary at most every 10 s, entries every 5 minutes, everything again every 15 minutes.
    expect(defaults).toEqual({ summaryIntervalMs: 10_000, itemIntervalMs: 300_000, refreshMs: 900_000 });
  });

  it('writes to compacted topics that delete after 7 days: each key keeps its latest, re-sent before it could age out', () => {
    const kinds = defaultKinds();
    const specs = topicSpecs(kinds).filter((t) => t.name.startsWith('metrics.') && t.name !== TOPICS.partials);
    expect(specs.map((t) => t.name).sort()).toEqual([...kinds.names().map((k) => TOPICS.metrics(k)), TOPICS.nodeMetrics].sort());
    for (const spec of specs) {
      expect(spec, spec.name).toMatchObject({ partitions: 1, compacted: true, retentionMs: 7 * 86_400_000 });
      expect(topicConfigEntries(spec)).toEqual(
        expect.arrayContaining([
          { name: 'cleanup.policy', value: 'compact,delete' },
          { name: 'segment.ms', value: '3600000' },
        ]),
      );
    }
    // The longest refresh the setting allows (6 days) is within the retention.
    expect(() => loadConfig({ METRICS_REFRESH_S: String(6 * 86_400) })).not.toThrow();
    expect(() => loadConfig({ METRICS_REFRESH_S: String(7 * 86_400) })).toThrow(/METRICS_REFRESH_S/);
    expect(() => loadConfig({ METRICS_ITEM_INTERVAL_S: '1000' })).toThrow(/METRICS_ITEM_INTERVAL_S: must be at most METRICS_REFRESH_S/);
  });
});
