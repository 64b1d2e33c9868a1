import { describe, expect, it } from 'vitest';
import type { ProfileKpis, ProfileNode } from '../../core/index.js';
import { evaluateWhole } from '../types.js';
import { ProfileMerger } from './merge.js';
import { ProfileProcessor } from './processor.js';
import { ctxAt, manhole, profileNode, reading, S, T0, waterlogging } from './test-kit.js';

const wl = (id: string, district: string, point: string, attrs: Record<string, unknown> = {}) =>
  profileNode('waterlogging', id, district, { point, ...attrs });

describe('profile processor: waterlogging by hand', () => {
  // Lixia: WL-1 (closure depth default 0.3), WL-2 (its own closure depth 0.2).
  // Shizhong: WL-3, WL-4 (never reports), WL-5.
  const nodes = [
    wl('WL-1', 'Lixia', 'Lishan Road underpass'),
    wl('WL-2', 'Lixia', 'Quancheng underpass', { closureDepthM: 0.2 }),
    wl('WL-3', 'Shizhong', 'Jingqi low point'),
    wl('WL-4', 'Shizhong', 'Weishan Road'),
    wl('WL-5', 'Shizhong', 'Erhuan underpass'),
  ];
  const [w1, w2, w3, , w5] = nodes as [ProfileNode, ProfileNode, ProfileNode, ProfileNode, ProfileNode];
  const feed = (p: ProfileProcessor) => {
    p.apply(reading(w1, T0, { depthM: 0.1, rainMmPerH: 5 }), w1);
    p.apply(reading(w1, T0 + 60 * S, { depthM: 0.25, rainMmPerH: 30 }), w1); // over 0.15 m from here
    p.apply(reading(w1, T0 + 120 * S, { depthM: 0.35 }), w1); // over its closure depth 0.3; no rain value: 30 stays
    p.apply(reading(w2, T0 + 90 * S, { depthM: 0.22 }), w2); // over 0.15 and over its own closure depth 0.2
    p.apply(reading(w3, T0, { depthM: 0.02, rainMmPerH: 1 }), w3);
    p.apply(reading(w5, T0 + 200 * S, { depthM: 0.25 }), w5); // over 0.15, under the default closure depth 0.3
  };
  const processor = new ProfileProcessor(waterlogging);
  feed(processor);
  const now = T0 + 300 * S;
  const ctx = ctxAt(now, nodes);
  const merger = new ProfileMerger(waterlogging);

  it('KPIs: means, max, counts, time over 0.15 m, per district and for the city', () => {
    const kpis = evaluateWhole(processor, merger, ctx).kpis as unknown as ProfileKpis;
    expect(kpis.title).toBe('Road waterlogging');
    expect([kpis.nodes, kpis.reporting]).toEqual([5, 4]);
    // City: latest depths 0.35, 0.22, 0.02, 0.25 -> mean 0.84 / 4 = 0.21, max 0.35; over 0.15: WL-1, WL-2, WL-5;
    // over closure: WL-1 (0.35 > 0.3) and WL-2 (0.22 > 0.2), not WL-5 (0.25 < 0.3); runs are measured to each
    // node's newest reading (not to the evaluation at T0+300 s): longest WL-1 from T0+60 s to T0+120 s = 60 s.
    expect(kpis.aggregates.meanDepthM).toBeCloseTo(0.21, 12);
    expect(kpis.aggregates).toMatchObject({ maxDepthM: 0.35, pointsOver15cm: 3, pointsOverClosure: 2, secondsOver15cm: 60 });
    expect(Object.keys(kpis.byDistrict)).toEqual(['Lixia', 'Shizhong']);
    // Lixia: (0.35 + 0.22) / 2 = 0.285; runs 60 s (WL-1) and 0 s (WL-2: one reading, at T0+90 s): longest 60.
    const lixia = kpis.byDistrict.Lixia!;
    expect([lixia.nodes, lixia.reporting]).toEqual([2, 2]);
    expect(lixia.aggregates.meanDepthM).toBeCloseTo(0.285, 12);
    expect(lixia.aggregates).toMatchObject({ maxDepthM: 0.35, pointsOver15cm: 2, pointsOverClosure: 2, secondsOver15cm: 60 });
    // Shizhong: WL-4 silent; (0.02 + 0.25) / 2 = 0.135; WL-5 over 0.15 since its one reading at T0+200 s: 0 s; nothing over closure.
    const shizhong = kpis.byDistrict.Shizhong!;
    expect([shizhong.nodes, shizhong.reporting]).toEqual([3, 2]);
    expect(shizhong.aggregates.meanDepthM).toBeCloseTo(0.135, 12);
    expect(shizhong.aggregates).toMatchObject({ maxDepthM: 0.25, pointsOver15cm: 1, pointsOverClosure: 0, secondsOver15cm: 0 });
  });

  it('lists the points that are over a line or alerting, sorted by node id, with their latest values', () => {
    const kpis = evaluateWhole(processor, merger, ctx).kpis as unknown as ProfileKpis;
    expect(kpis.list.map((r) => r.nodeId)).toEqual(['WL-1', 'WL-2', 'WL-5']);
    expect(kpis.list[0]).toEqual({
      nodeId: 'WL-1',
      district: 'Lixia',
      ts: T0 + 120 * S,
      values: { depthM: 0.35, rainMmPerH: 30 },
      timeOver: { secondsOver15cm: 60 },
      rules: ['RoadWaterlogging/major', 'RoadWaterlogging/critical'],
    });
    expect(kpis.list[2]).toMatchObject({ nodeId: 'WL-5', timeOver: { secondsOver15cm: 0 }, rules: ['RoadWaterlogging/major'] });
  });

  it('one condition per active rule and node: severity, hold, labels, summary, value', () => {
    const { conditions } = processor.partial(nodes, ctx);
    expect(conditions.map((c) => `${c.labels.node} ${c.severity}`)).toEqual([
      'WL-1 major',
      'WL-1 critical',
      'WL-2 major',
      'WL-2 critical',
      'WL-5 major',
    ]);
    // Each with the event time its rule became active: the hold counts from the data, not from an evaluation.
    expect(conditions.map((c) => (c.since! - T0) / S)).toEqual([60, 120, 90, 90, 200]);
    expect(conditions[0]).toEqual({
      alertname: 'RoadWaterlogging',
      severity: 'major',
      holdMs: 120_000,
      since: T0 + 60 * S,
      labels: { kind: 'waterlogging', district: 'Lixia', node: 'WL-1' },
      summary: 'Lishan Road underpass (Lixia): 0.35 m of water on the road, over 0.15 m for 2 minutes',
      value: 0.35,
    });
    expect(conditions[3]!.summary).toBe('Quancheng underpass (Lixia): 0.22 m of water, above the closure depth 0.2 m: close the road');
    expect(conditions[3]!.value).toBe(0.22);
  });

  it('describe: latest values and what the processor derived', () => {
    expect(processor.describe(w1, ctx)).toEqual({
      latest: { ts: T0 + 120 * S, depthM: 0.35, rainMmPerH: 30 },
      derived: {
        rules: ['RoadWaterlogging/major', 'RoadWaterlogging/critical'],
        timeOver: { secondsOver15cm: 60 },
        runSince: { secondsOver15cm: T0 + 60 * S },
        valueTs: { depthM: T0 + 120 * S, rainMmPerH: T0 + 60 * S },
      },
    });
    expect(processor.describe(nodes[3]!, ctx)).toEqual({});
  });

  it('export / import (as JSON) gives the same partial and views', () => {
    const copy = new ProfileProcessor(waterlogging);
    for (const n of nodes) {
      const state = processor.exportNode(n.nodeId);
      if (state !== undefined) copy.importNode(n.nodeId, JSON.parse(JSON.stringify(state)));
    }
    expect(processor.exportNode('WL-4')).toBeUndefined();
    expect(copy.partial(nodes, ctx)).toEqual(processor.partial(nodes, ctx));
    expect(copy.describe(w1, ctx)).toEqual(processor.describe(w1, ctx));
    // The copy goes on from the restored state: 0.09 clears WL-1's rules (under 0.1), ends its run.
    copy.apply(reading(w1, T0 + 240 * S, { depthM: 0.09 }), w1);
    expect(copy.partial([w1], ctx).conditions).toEqual([]);
    // A snapshot that does not parse leaves the node without state instead of failing the restore.
    copy.importNode('WL-4', { nonsense: true });
    expect(copy.exportNode('WL-4')).toBeUndefined();
  });
});

describe('profile processor: the same node list evaluated again', () => {
  it('a node that reports (or is restored) after an evaluation of its list counts at the next one', () => {
    const nodes = [wl('WL-1', 'Lixia', 'P1'), wl('WL-2', 'Lixia', 'P2')];
    const p = new ProfileProcessor(waterlogging);
    const ctx = ctxAt(T0 + 60 * S, nodes);
    expect(p.partial(nodes, ctx).section.districts.Lixia).toMatchObject({ nodes: 2, reporting: 0 });
    p.apply(reading(nodes[0]!, T0, { depthM: 0.05 }), nodes[0]!);
    expect(p.partial(nodes, ctx).section.districts.Lixia).toMatchObject({ nodes: 2, reporting: 1, aggregates: { maxDepthM: 0.05 } });
    // Restoring over a node that has state: the list sees the restored values (0.4 m), not the old ones.
    const other = new ProfileProcessor(waterlogging);
    other.apply(reading(nodes[0]!, T0 + 30 * S, { depthM: 0.4 }), nodes[0]!);
    p.importNode('WL-1', other.exportNode('WL-1'));
    p.importNode('WL-2', other.exportNode('WL-1'));
    expect(p.partial(nodes, ctx).section.districts.Lixia).toMatchObject({
      nodes: 2,
      reporting: 2,
      aggregates: { maxDepthM: 0.4, pointsOver15cm: 2 },
    });
  });
});

describe('profile processor: rules and order', () => {
  const point = wl('WL-9', 'Tianqiao', 'Beiyuan underpass');
  const at = (p: ProfileProcessor, now: number) => p.partial([point], ctxAt(now, [point]));

  it('hysteresis: 0.20 m -> active; 0.12 m still active (not under 0.1 m); 0.09 m clears', () => {
    const p = new ProfileProcessor(waterlogging);
    p.apply(reading(point, T0, { depthM: 0.2 }), point);
    expect(at(p, T0).conditions.map((c) => c.severity)).toEqual(['major']);
    p.apply(reading(point, T0 + 60 * S, { depthM: 0.12 }), point);
    const still = at(p, T0 + 60 * S);
    expect(still.conditions.map((c) => [c.severity, c.value, c.summary])).toEqual([
      ['major', 0.12, 'Beiyuan underpass (Tianqiao): 0.12 m of water on the road, over 0.15 m for 2 minutes'],
    ]);
    // The run over 0.15 m ended at 0.12 m; the node is still listed for its active rule.
    expect(still.section.districts.Tianqiao!.aggregates).toMatchObject({ pointsOver15cm: 0, secondsOver15cm: 0 });
    expect(still.section.list).toMatchObject([{ nodeId: 'WL-9', timeOver: { secondsOver15cm: 0 }, rules: ['RoadWaterlogging/major'] }]);
    p.apply(reading(point, T0 + 120 * S, { depthM: 0.09 }), point);
    const cleared = at(p, T0 + 120 * S);
    expect(cleared.conditions).toEqual([]);
    expect(cleared.section.list).toEqual([]);
  });

  it('a run restarts at the first reading over the line after a break', () => {
    const p = new ProfileProcessor(waterlogging);
    p.apply(reading(point, T0, { depthM: 0.2 }), point);
    p.apply(reading(point, T0 + 60 * S, { depthM: 0.1 }), point);
    p.apply(reading(point, T0 + 90 * S, { depthM: 0.18 }), point);
    p.apply(reading(point, T0 + 150 * S, { depthM: 0.19 }), point);
    // Run from T0+90 s (not T0, not T0+150 s) to the newest reading at T0+150 s: 60 s, whenever it is evaluated.
    expect(at(p, T0 + 200 * S).section.districts.Tianqiao!.aggregates.secondsOver15cm).toBe(60);
    expect(at(p, T0 + 900 * S).section.districts.Tianqiao!.aggregates.secondsOver15cm).toBe(60);
  });

  it('out of order: an older reading never overwrites newer values; it fills a field they did not carry', () => {
    const p = new ProfileProcessor(waterlogging);
    p.apply(reading(point, T0 + 120 * S, { depthM: 0.3 }), point);
    p.apply(reading(point, T0 + 60 * S, { depthM: 0.05, rainMmPerH: 12 }), point);
    expect(p.describe(point, ctxAt(T0 + 180 * S, [point])).latest).toEqual({ ts: T0 + 120 * S, depthM: 0.3, rainMmPerH: 12 });
    // The run over 0.15 m began with the newest reading (T0+120 s); the late 0.05 m did not end it: at the next
    // reading (T0+180 s) it has lasted 60 s.
    p.apply(reading(point, T0 + 180 * S, { depthM: 0.3 }), point);
    const r = at(p, T0 + 180 * S);
    expect(r.section.districts.Tianqiao!.aggregates).toMatchObject({ secondsOver15cm: 60, pointsOver15cm: 1 });
    expect(r.conditions.map((c) => c.severity)).toEqual(['major']);
    // A late reading whose every field is older than the node's changes nothing.
    const before = p.exportNode(point.nodeId);
    p.apply(reading(point, T0 + 30 * S, { depthM: 0.01, rainMmPerH: 0 }), point);
    expect(p.exportNode(point.nodeId)).toEqual(before);
  });

  it('a replayed reading changes nothing', () => {
    const p = new ProfileProcessor(waterlogging);
    const readings = [
      reading(point, T0, { depthM: 0.2 }),
      reading(point, T0 + 60 * S, { depthM: 0.05, rainMmPerH: 3 }),
      reading(point, T0 + 120 * S, { depthM: 0.16 }),
    ];
    for (const r of readings) p.apply(r, point);
    const once = JSON.stringify(p.exportNode(point.nodeId));
    for (const r of readings) p.apply(r, point);
    expect(JSON.stringify(p.exportNode(point.nodeId))).toBe(once);
  });
});

describe('profile processor: manhole covers', () => {
  const m1 = profileNode('manhole', 'MH-1', 'Lixia', { road: 'Jingshi Road' });
  const m2 = profileNode('manhole', 'MH-2', 'Shizhong', {}); // no road: the summary shows -
  const nodes = [m1, m2];

  it('an open cover is critical with no hold at once; a tilt of 20 deg too; closing clears it', () => {
    const p = new ProfileProcessor(manhole);
    p.apply(reading(m1, T0, { open: true }), m1);
    expect(p.partial(nodes, ctxAt(T0, nodes)).conditions).toEqual([
      {
        alertname: 'ManholeCoverOpen',
        severity: 'critical',
        holdMs: 0,
        since: T0,
        labels: { kind: 'manhole', district: 'Lixia', node: 'MH-1' },
        summary: 'Manhole cover MH-1 on Jingshi Road (Lixia) is open or displaced',
      },
    ]);
    p.apply(reading(m2, T0 + 10 * S, { open: false, tiltDeg: 20, waterBelowM: 2.5 }), m2);
    p.apply(reading(m1, T0 + 30 * S, { open: true }), m1);
    const now = T0 + 30 * S;
    const both = p.partial(nodes, ctxAt(now, nodes));
    expect(both.conditions[1]).toMatchObject({
      severity: 'critical',
      holdMs: 0,
      value: 20,
      summary: 'Manhole cover MH-2 on - (Shizhong) is open or displaced',
    });
    const kpis = new ProfileMerger(manhole).merge([both.section], ctxAt(now, nodes)).kpis as unknown as ProfileKpis;
    // Open or tilted: both; max tilt 20 (MH-1 sent none); min water below 2.5; MH-1 open from T0 to its newest
    // reading at T0+30 s: 30 s; MH-2 tilted at its one reading: 0 s.
    expect(kpis.aggregates).toEqual({ coversOpen: 2, maxTiltDeg: 20, minWaterBelowM: 2.5, secondsOpen: 30 });
    // Without `clear`, the rule ends as soon as `when` no longer holds.
    p.apply(reading(m1, T0 + 60 * S, { open: false, tiltDeg: 1 }), m1);
    expect(p.partial(nodes, ctxAt(T0 + 60 * S, nodes)).conditions.map((c) => c.labels.node)).toEqual(['MH-2']);
  });
});
