import { describe, expect, it } from 'vitest';
import { generateCity, NodeRegistry, partitionFor, type AlertCondition, type RegistryNode } from '../core/index.js';
import { buildScenario } from '../simulators/scenarios.js';
import { generateReading } from '../simulators/models/index.js';
import { at, config, record } from '../test/fixtures.js';
import { GroundwaterMerger } from '../core/kinds/groundwater/merge.js';
import type { GroundwaterSection, WellRow } from '../core/kinds/groundwater/processor.js';
import { processorsFor } from './host.js';
import { NoiseMerger } from '../core/kinds/noise/merge.js';
import type { NoiseSection } from '../core/kinds/noise/processor.js';
import { ParkingMerger } from '../core/kinds/parking/merge.js';
import { mergersFor } from './aggregator.js';
import type { EvalContext } from './types.js';
import { defaultKinds } from '../core/kinds/modules.js';

const city = generateCity(defaultKinds(), { lamps: 600, parkingSpaces: 400, noiseStations: 24, wells: 10, seed: 7 });
const START = at('2026-06-21T21:30:00'); // lamps on, a GB 3096 night hour closes at 22:00 and 23:00
const END = START + 100 * 60_000;
const cfg = config();
const ctxAt = (now: number): EvalContext => ({ now, since: START, config: cfg, registry: city });

/** Conditions in a stable order, for comparing two evaluations. */
const sorted = (conditions: AlertCondition[]) =>
  [...conditions].sort((a, b) => JSON.stringify([a.alertname, a.labels]).localeCompare(JSON.stringify([b.alertname, b.labels])));

describe('every merger: partials of any split of the nodes merge into the KPIs of the whole city', () => {
  // One set of processors fed 100 simulated minutes of the demo scenario (a dark circuit, wells under
  // and falling towards their lines, a full lot, a noisy station), every node at its own interval.
  const processors = processorsFor(cfg, city.kinds);
  const scenario = buildScenario('demo', [...city.all()], { seed: 3, start: START, kinds: defaultKinds() });
  for (const node of city.all()) {
    const every = city.expectedIntervalS(node) * 1000;
    for (let t = START + (node.nodeId.length % 7) * 1000; t < END; t += every) {
      processors.get(node.kind)!.apply(record(node, generateReading(node, t, { seed: 3, scenario, kinds: defaultKinds() }) as never), node);
    }
  }
  const mergers = mergersFor(city.kinds, cfg);

  for (const kind of city.kinds.names()) {
    it(`${kind}: 1, 3 and 12 partitions give the same KPIs and alert conditions`, () => {
      const ctx = ctxAt(END);
      const nodes = city.ofKind(kind);
      const evaluate = (partitions: number) => {
        const shares = Array.from({ length: partitions }, () => [] as RegistryNode[]);
        for (const n of nodes) shares[partitionFor(n.nodeId, partitions)]!.push(n);
        const partials = shares.map((share) => processors.get(kind)!.partial(share as never[], ctx));
        const merged = mergers.get(kind)!.merge(
          partials.map((p) => p.section),
          ctx,
        );
        return { kpis: merged.kpis, conditions: sorted([...partials.flatMap((p) => p.conditions), ...merged.conditions]) };
      };
      const whole = evaluate(1);
      expect(JSON.stringify(whole.kpis).length).toBeGreaterThan(200); // something to compare
      expect(evaluate(3)).toEqual(whole);
      expect(evaluate(12)).toEqual(whole);
    });
  }

  it("the demo city raises each kind's alerts, so the comparison above covers them", () => {
    const ctx = ctxAt(END);
    const names = new Set<string>();
    for (const kind of city.kinds.names()) {
      const partial = processors.get(kind)!.partial(city.ofKind(kind), ctx);
      for (const c of [...partial.conditions, ...mergers.get(kind)!.merge([partial.section], ctx).conditions]) names.add(c.alertname);
    }
    for (const name of [
      'CircuitDark',
      'GroundwaterBelowLine',
      'GroundwaterFallingFast',
      'ParkingLotFull',
      'RoadWaterlogging',
      'ManholeCoverOpen',
    ])
      expect([...names]).toContain(name);
  });
});

describe('lighting merger across the switch-off', () => {
  it('carries a night into the day only when that night had data: an evaluation before any partial knows nothing', () => {
    const lamps = city.ofKind('streetlight');
    const night = at('2026-06-21T22:00:00');
    const day = at('2026-06-22T12:00:00');
    const dayCtx: EvalContext = { now: day, since: night - 3_600_000, config: cfg, registry: city };
    const processor = processorsFor(cfg, city.kinds).get('streetlight')!;
    for (const lamp of lamps) processor.apply(record(lamp, { ts: day - 60_000, powerState: 'off' }), lamp);
    const daySection = processor.partial(lamps, dayCtx).section;

    const fresh = mergersFor(city.kinds, cfg).get('streetlight')!;
    fresh.merge([], { ...dayCtx, now: night }); // the aggregator's first evaluation, at night, before any partial
    const carried = fresh.merge([daySection], dayCtx).kpis as { rate: number | null; roads: { total: number } };
    expect(carried.rate).toBeNull();
    expect(carried.roads.total).toBe(0); // not every road "compliant" with no lamp heard from
  });
});

describe('mergers, hand-computed', () => {
  const ctx = ctxAt(END);
  const well = (nodeId: string, springGroup: string, level: number | null, band: WellRow['band']): WellRow => ({
    nodeId,
    well: nodeId,
    springGroup,
    district: 'Lixia',
    level,
    band,
  });

  it('groundwater: wells by band, each spring group its lowest level and worst band; silent wells listed, not counted', () => {
    const a: GroundwaterSection = { wells: [well('W3', 'Baotu', 27.9, 'orange'), well('W1', 'Baotu', 28.3, 'normal')] };
    const b: GroundwaterSection = { wells: [well('W2', 'Black Tiger', 28.05, 'yellow'), well('W4', 'Black Tiger', null, null)] };
    const { kpis } = new GroundwaterMerger().merge([a, b], ctx);
    expect(kpis).toMatchObject({
      wells: 4,
      reporting: 3,
      byBand: { normal: 1, yellow: 1, orange: 1, red: 0 },
      springGroups: {
        Baotu: { minLevel: 27.9, worstBand: 'orange', wells: 2 },
        'Black Tiger': { minLevel: 28.05, worstBand: 'yellow', wells: 1 },
      },
    });
    expect((kpis.list as WellRow[]).map((w) => w.nodeId)).toEqual(['W1', 'W2', 'W3', 'W4']);
  });

  it('noise: compliance over complete stations only; an incomplete hour is neither compliant nor not', () => {
    const row = (nodeId: string, zoneClass: string, complete: boolean, exceeds: boolean) => ({
      nodeId,
      zoneClass,
      lastHour: { complete, exceeds },
    });
    const a = { hour: 1000, stations: [row('N1', '1', true, false), row('N2', '1', true, true)] } as unknown as NoiseSection;
    const b = { hour: 2000, stations: [row('N3', '4a', false, true), row('N4', '4a', true, false)] } as unknown as NoiseSection;
    const { kpis } = new NoiseMerger().merge([a, b], ctx);
    expect(kpis).toMatchObject({
      stations: 4,
      hour: 2000,
      complete: 3,
      incomplete: 1,
      compliant: 2,
      byZoneClass: { '1': { stations: 2, complete: 2, compliant: 1 }, '4a': { stations: 2, complete: 1, compliant: 1 } },
    });
    expect(kpis.complianceRate).toBeCloseTo(2 / 3, 12);
  });

  it('parking: a lot split over two partitions adds up; spaces without a report are unknown, not free; full raises ParkingLotFull', () => {
    const lot = (id: string, spaces: number): RegistryNode[] =>
      Array.from({ length: spaces }, (_, i) => ({
        nodeId: `${id}-${i}`,
        kind: 'parking',
        district: 'Lixia',
        lat: 36.6,
        lon: 117,
        lotId: id,
        lotName: `Lot ${id}`,
        spaces,
      }));
    const c: EvalContext = { ...ctx, registry: new NodeRegistry([...lot('A', 20), ...lot('B', 10)], [], defaultKinds()) };
    // Lot A: 12 + 7 occupied, 1 free = 19 of 20 known = 95 % -> full (PARKING_FULL 0.95); 3 sessions of 30 min.
    // Lot B: 2 occupied, 6 free, 2 spaces never reported -> unknown. City: 21 of 28 known occupied.
    const { kpis, conditions } = new ParkingMerger().merge(
      [{ lots: { A: [12, 0, 2, 3_600_000], B: [2, 6, 0, 0] } }, { lots: { A: [7, 1, 1, 1_800_000] } }] as never,
      c,
    );
    expect(kpis).toMatchObject({ lots: 2, spaces: 30, occupied: 21, free: 7, unknown: 2, sessions: 3, full: 1 });
    expect(kpis.occupancy).toBeCloseTo(21 / 28, 12);
    expect(kpis.turnover).toBeCloseTo(3 / 30, 12);
    expect(kpis.meanDwellMin).toBeCloseTo(30, 12);
    expect(conditions.map((x) => [x.alertname, x.labels.lot])).toEqual([['ParkingLotFull', 'A']]);
  });
});
