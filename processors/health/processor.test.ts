import { describe, expect, it } from 'vitest';
import { generateCity, seededRandom, type RegistryNode, type TelemetryRecord } from '../../core/index.js';
import { testConfig } from '../../test/helpers.js';
import type { EvalContext } from '../types.js';
import { HealthMerger, NodeHealth } from './processor.js';
import { defaultKinds } from '../../core/kinds/modules.js';

const T0 = Date.parse('2026-11-26T20:00:00+08:00');
const registry = generateCity(defaultKinds(), { lamps: 400, parkingSpaces: 200, noiseStations: 12, wells: 6 });
const config = testConfig({ ONLINE_GRACE_FACTOR: '3' });
const ctxAt = (now: number): EvalContext => ({ now, since: T0, config, registry });

function reading(node: RegistryNode, ts: number, battery = 0.9): TelemetryRecord {
  return {
    type: 'reading',
    nodeId: node.nodeId,
    kind: node.kind,
    district: node.district,
    receivedAt: ts,
    reading: { ts, battery },
  } as unknown as TelemetryRecord;
}

describe('node health', () => {
  it('online, silent, never seen and battery outliers by hand', () => {
    const lamps = registry
      .ofKind('streetlight')
      .filter((n) => n.district === registry.ofKind('streetlight')[0]!.district)
      .slice(0, 12);
    const interval = registry.expectedIntervalS(lamps[0]!) * 1000;
    const health = new NodeHealth();
    // 0-5 report now; 6-8 reported 4 intervals ago (silent with grace 3); 9 reported then said offline; 10-11 never.
    lamps.slice(0, 6).forEach((n, i) => health.apply(reading(n, T0, i === 0 ? 0.1 : 0.9), T0));
    lamps.slice(6, 9).forEach((n) => health.apply(reading(n, T0 - 4 * interval), T0));
    health.apply(reading(lamps[9]!, T0 - 1000), T0);
    health.apply(
      {
        type: 'status',
        nodeId: lamps[9]!.nodeId,
        kind: 'streetlight',
        district: lamps[9]!.district,
        status: 'offline',
        receivedAt: T0,
      },
      T0,
    );
    const { section, conditions } = health.partial(lamps, ctxAt(T0 + 1000));
    const tally = Object.values(section.tallies)[0]!;
    expect(tally).toMatchObject({ total: 12, online: 6, neverSeen: 2, batteryLow: 1 });
    expect(Object.values(section.silent)[0]).toEqual({ count: 4, nodes: lamps.slice(6, 10).map((n) => n.nodeId) });
    expect(conditions.map((c) => c.labels.node)).toEqual([lamps[0]!.nodeId]);
    // Three intervals after T0 (grace 3) the six still count; just past it they are silent too.
    expect(Object.values(health.partial(lamps, ctxAt(T0 + 3 * interval)).section.tallies)[0]!.online).toBe(6);
    const later = health.partial(lamps, ctxAt(T0 + 3 * interval + 1));
    expect(Object.values(later.section.tallies)[0]).toMatchObject({ online: 0, neverSeen: 2 });
    expect(Object.values(later.section.silent)[0]!.count).toBe(10);
    const kpis = new HealthMerger().merge([later.section], [], ctxAt(T0 + 3 * interval + 1)).kpis as { online: number; total: number };
    expect(kpis).toMatchObject({ online: 0, total: 12 });
  });

  it('incremental tallies equal judging every node afresh, through readings, restores, silence and offline notices', () => {
    const nodes = [...registry.all()];
    const health = new NodeHealth();
    const rand = seededRandom(7);
    let now = T0;
    for (let step = 0; step < 60; step++) {
      // Some nodes report (a few with low batteries, some late), one restores, some announce offline.
      for (let k = 0; k < 40; k++) {
        const node = nodes[Math.floor(rand() * nodes.length)]!;
        health.apply(reading(node, now - Math.floor(rand() * 600_000), rand() < 0.05 ? 0.1 : 0.8), now);
      }
      const restored = nodes[Math.floor(rand() * nodes.length)]!;
      health.importNode(restored.nodeId, { lastSeen: now - 30_000, battery: 0.05 });
      if (step % 7 === 3) {
        const node = nodes[Math.floor(rand() * nodes.length)]!;
        health.apply(
          {
            type: 'status',
            nodeId: node.nodeId,
            kind: node.kind,
            district: node.district,
            status: rand() < 0.5 ? 'offline' : 'online',
            receivedAt: now,
          },
          now,
        );
      }
      now += Math.floor(rand() * 400_000);
      const ctx = ctxAt(now);
      // The same list each time (incremental) against a copy (a new list: every node judged).
      expect(health.partial(nodes, ctx)).toEqual(health.partial([...nodes], ctx));
    }
    // Time running backwards (a restore of older state) judges everything again.
    expect(health.partial(nodes, ctxAt(T0))).toEqual(health.partial([...nodes], ctxAt(T0)));
  });
});
