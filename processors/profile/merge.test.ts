import { describe, expect, it } from 'vitest';
import {
  partitionFor,
  seededRandom,
  type AlertCondition,
  type KindProfile,
  type ProfileKpis,
  type ProfileNode,
  type ProfileReadingRecord,
} from '../../core/index.js';
import { ProfileMerger } from './merge.js';
import { ProfileProcessor } from './processor.js';
import { ctxAt, manhole, profileNode, reading, S, T0, waterlogging } from './test-kit.js';

const DISTRICTS = ['Lixia', 'Shizhong', 'Huaiyin', 'Tianqiao'];
const sorted = (conditions: AlertCondition[]) =>
  [...conditions].sort((a, b) => JSON.stringify([a.labels.node, a.severity]).localeCompare(JSON.stringify([b.labels.node, b.severity])));

/** 40 nodes over four districts and 30 minutes of readings per node (some late, some twice, some without an optional field). */
function city(profile: KindProfile, fields: (rand: () => number, minute: number) => Record<string, unknown>) {
  const rand = seededRandom(11);
  const nodes: ProfileNode[] = [];
  for (let i = 0; i < 40; i++) {
    const attrs =
      profile.kind === 'waterlogging'
        ? { point: `Point ${i}`, ...(i % 4 === 0 ? { closureDepthM: 0.2 } : {}) }
        : i % 2
          ? { road: `Road ${i}` }
          : {};
    nodes.push(
      profileNode(
        profile.kind,
        `${profile.kind.slice(0, 2).toUpperCase()}-${String(i).padStart(3, '0')}`,
        DISTRICTS[i % DISTRICTS.length]!,
        attrs,
      ),
    );
  }
  const readings: [ProfileReadingRecord, ProfileNode][] = [];
  for (const node of nodes) {
    if (node.nodeId.endsWith('7')) continue; // a few never report
    const own: ProfileReadingRecord[] = [];
    for (let m = 0; m < 30; m++) own.push(reading(node, T0 + m * 60 * S + Math.floor(rand() * 30) * S, fields(rand, m)));
    for (let k = 0; k + 1 < own.length; k += 7) [own[k], own[k + 1]] = [own[k + 1]!, own[k]!]; // out of order
    for (let k = 3; k < own.length; k += 9) own.push(own[k]!); // delivered again
    for (const r of own) readings.push([r, node]);
  }
  return { nodes, readings };
}

/** Feeds the readings to `parts` processors, each owning the nodes its partition holds; returns the merged KPIs and the conditions. */
function evaluate(profile: KindProfile, nodes: ProfileNode[], readings: [ProfileReadingRecord, ProfileNode][], parts: number, now: number) {
  const processors = Array.from({ length: parts }, () => new ProfileProcessor(profile));
  for (const [r, node] of readings) processors[partitionFor(node.nodeId, parts)]!.apply(r, node);
  const ctx = ctxAt(now, nodes);
  const partials = processors.map((p, i) =>
    p.partial(
      nodes.filter((n) => partitionFor(n.nodeId, parts) === i),
      ctx,
    ),
  );
  const merged = new ProfileMerger(profile).merge(
    partials.map((p) => p.section),
    ctx,
  );
  return {
    kpis: merged.kpis as unknown as ProfileKpis,
    conditions: sorted(partials.flatMap((p) => p.conditions)),
    mergeConditions: merged.conditions,
  };
}

describe('profile merger', () => {
  const cases = [
    {
      profile: waterlogging,
      // A rising flood: depths drift up from ~0 to ~0.5 m over the half hour, with noise; rain only now and then.
      fields: (rand: () => number, m: number) => ({
        depthM: Math.round((m / 60 + rand() * 0.1) * 1e4) / 1e4,
        ...(rand() < 0.5 ? { rainMmPerH: Math.round(rand() * 800) / 10 } : {}),
      }),
    },
    {
      profile: manhole,
      fields: (rand: () => number) => ({
        open: rand() < 0.1,
        ...(rand() < 0.7 ? { tiltDeg: Math.round(rand() * 250) / 10 } : {}),
        waterBelowM: Math.round(rand() * 3000) / 1000,
      }),
    },
  ];
  for (const { profile, fields } of cases) {
    it(`${profile.kind}: 1 and 3 partitions give identical KPIs and conditions`, () => {
      const { nodes, readings } = city(profile, fields);
      const now = T0 + 31 * 60 * S;
      const whole = evaluate(profile, nodes, readings, 1, now);
      const split = evaluate(profile, nodes, readings, 3, now);
      expect(split.kpis).toEqual(whole.kpis);
      expect(split.conditions).toEqual(whole.conditions);
      expect(whole.mergeConditions).toEqual([]);
      // The case is not trivial: something is over a line, alerting, and listed.
      expect(whole.kpis.nodes).toBe(40);
      expect(whole.kpis.reporting).toBe(36);
      expect(whole.kpis.list.length).toBeGreaterThan(0);
      expect(whole.conditions.length).toBeGreaterThan(0);
      expect(whole.kpis.list.map((r) => r.nodeId)).toEqual([...whole.kpis.list.map((r) => r.nodeId)].sort());
    });
  }

  it('the KPI section shape, with no node reporting', () => {
    const nodes = [profileNode('waterlogging', 'WL-1', 'Lixia', { point: 'P1' })];
    const section = new ProfileProcessor(waterlogging).partial(nodes, ctxAt(T0, nodes)).section;
    const kpis = new ProfileMerger(waterlogging).merge([section], ctxAt(T0, nodes)).kpis;
    expect(Object.keys(kpis)).toEqual(['title', 'nodes', 'reporting', 'aggregates', 'byDistrict', 'list']);
    const empty = { meanDepthM: null, maxDepthM: null, pointsOver15cm: 0, pointsOverClosure: 0, secondsOver15cm: 0 };
    expect(kpis).toEqual({
      title: 'Road waterlogging',
      nodes: 1,
      reporting: 0,
      aggregates: empty,
      byDistrict: { Lixia: { nodes: 1, reporting: 0, aggregates: empty } },
      list: [],
    });
    expect(new ProfileMerger(waterlogging).merge([], ctxAt(T0, nodes)).kpis).toEqual({
      title: 'Road waterlogging',
      nodes: 0,
      reporting: 0,
      aggregates: empty,
      byDistrict: {},
      list: [],
    });
  });

  it('merging leaves the partials as they were (the aggregator merges the same ones again)', () => {
    const nodes = [
      profileNode('waterlogging', 'WL-1', 'Lixia', { point: 'P1' }),
      profileNode('waterlogging', 'WL-2', 'Lixia', { point: 'P2' }),
    ];
    const p = new ProfileProcessor(waterlogging);
    p.apply(reading(nodes[0]!, T0, { depthM: 0.1 }), nodes[0]!);
    p.apply(reading(nodes[1]!, T0, { depthM: 0.2 }), nodes[1]!);
    const a = p.partial([nodes[0]!], ctxAt(T0, nodes)).section;
    const b = p.partial([nodes[1]!], ctxAt(T0, nodes)).section;
    const before = JSON.stringify([a, b]);
    const merger = new ProfileMerger(waterlogging);
    const first = merger.merge([a, b], ctxAt(T0, nodes)).kpis;
    expect(JSON.stringify([a, b])).toBe(before);
    expect(merger.merge([a, b], ctxAt(T0, nodes)).kpis).toEqual(first);
    // (0.1 + 0.2) / 2: the exact sum of the two doubles rounds to 0.30000000000000004, halved.
    expect((first as unknown as ProfileKpis).aggregates.meanDepthM).toBe((0.1 + 0.2) / 2);
  });
});
