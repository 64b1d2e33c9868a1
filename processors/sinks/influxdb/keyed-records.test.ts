/**
 * The metrics topics carry a section as a summary record plus one record per keyed list entry
 * (metrics-publisher.ts). For every kind, built-in and profile, the sink must write from those
 * records exactly the points it wrote from the whole section in one record.
 */
import { describe, expect, it } from 'vitest';
import { generateCity, seededRandom, TOPICS, type AnyReadingRecord } from '../../../core/index.js';
import { defaultKinds } from '../../../core/kinds/modules.js';
import { config } from '../../../test/fixtures.js';
import { MetricsPublisher } from '../../aggregation/metrics-publisher.js';
import { evaluateWhole, type KindMerger, type KindProcessor } from '../../types.js';
import { toPoints } from './points.js';

const kinds = defaultKinds();
const registry = generateCity(kinds);
const NOW = Date.parse('2026-06-21T22:00:00+08:00');
const cfg = config();

/** A kind's real section: its processor fed two sample readings per node, merged as one partition. */
function sectionOf(kind: string): Record<string, unknown> {
  const module = kinds.get(kind)!;
  const processor = module.processor(cfg) as KindProcessor;
  const rand = seededRandom(11);
  for (const ts of [NOW - 120_000, NOW - 60_000])
    for (const node of registry.ofKind(kind)) {
      const reading = { ts, ...module.sample(node, ts, rand()) };
      const record = { type: 'reading', nodeId: node.nodeId, kind, district: node.district, receivedAt: ts, reading } as AnyReadingRecord;
      processor.apply(record, node);
    }
  const ctx = { now: NOW, since: NOW - 86_400_000, config: cfg, registry };
  return evaluateWhole(processor, module.merger(cfg) as KindMerger, ctx).kpis;
}

const sorted = (points: unknown[]) => points.map((p) => JSON.stringify(p)).sort();

describe('InfluxDB points of keyed metrics records', () => {
  for (const kind of kinds.names())
    it(`${kind}: the summary and entry records give the points of the whole section`, () => {
      const module = kinds.get(kind)!;
      const section = sectionOf(kind);
      const topic = TOPICS.metrics(kind);
      const whole = toPoints(topic, [{ value: Buffer.from(JSON.stringify({ ts: NOW, kpis: section })) }], registry);
      const plan = new MetricsPublisher({ summaryIntervalMs: 0, itemIntervalMs: 0, refreshMs: 1 }).plan(0, NOW, [
        { topic, section, lists: module.metricsLists },
      ]);
      const records = plan.records.get(topic)!;
      const split = toPoints(topic, records, registry);
      expect(split.skipped).toBe(0);
      expect(whole.skipped).toBe(0);
      expect(sorted(split.points)).toEqual(sorted(whole.points));
      // Each list is carried entry by entry: one record per entry besides the summary.
      const entries = module.metricsLists.reduce((n, l) => n + (section[l.field] as unknown[]).length, 0);
      expect(records).toHaveLength(1 + entries);
      if (['parking', 'noise', 'groundwater', 'manhole'].includes(kind))
        expect(entries, `${kind} has list entries here`).toBeGreaterThan(0);
    });

  it('a removed entry gives no point and is not counted as unreadable', () => {
    const removed = { value: Buffer.from(JSON.stringify({ ts: NOW, list: 'list', removed: true })) };
    expect(toPoints(TOPICS.metrics('parking'), [removed], registry)).toEqual({ points: [], skipped: 0 });
  });
});
