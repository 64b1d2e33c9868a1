import { describe, expect, it } from 'vitest';
import { evaluateWhole } from '../../../processors/types.js';
import { LightingMerger } from './merge.js';
import { generateCity, NodeRegistry, seededRandom, type NodeOf, type RegistryNode, type RoadDesign } from '../../index.js';
import { at, config, ctx, lamp, record } from '../../../test/fixtures.js';
import { lampCondition } from './lamp.js';
import { LightingProcessor } from './processor.js';
import { defaultKinds } from '../modules.js';

const NIGHT = at('2026-06-21T22:00:00'); // scheduled on (sunset 19:33), before half-night (23:30)
const DAY = at('2026-06-22T12:00:00');

function feed(p: LightingProcessor, nodes: RegistryNode[], reading: (n: RegistryNode, i: number) => object | null, ts: number) {
  nodes.forEach((n, i) => {
    const r = reading(n, i);
    if (r) p.apply(record(n as NodeOf<'streetlight'>, { ts, ...r } as never));
  });
}

describe('lamp condition', () => {
  it('counts silence, off, and under 80 % of (dimmed) rated power as not lit', () => {
    expect(lampCondition(undefined, false, 200)).toBe('no-report');
    expect(lampCondition({ ts: 1, powerState: 'on' }, false, 200)).toBe('no-report');
    expect(lampCondition({ ts: 1, powerState: 'off' }, true, 200)).toBe('reported-off');
    expect(lampCondition({ ts: 1, powerState: 'on', powerW: 159 }, true, 200)).toBe('under-power');
    expect(lampCondition({ ts: 1, powerState: 'on', powerW: 161 }, true, 200)).toBe('lit');
    expect(lampCondition({ ts: 1, powerState: 'on', dim: 50, powerW: 81 }, true, 200)).toBe('lit'); // 0.8 * 100 W
    expect(lampCondition({ ts: 1, powerState: 'low', dim: 50, powerW: 70 }, true, 200)).toBe('under-power');
  });
});

describe('lighting rate', () => {
  it('is lit / should-be-lit, with a lamp that does not report counted as dark', () => {
    // 10 main-road lamps on 10 circuits: 7 lit, 1 off, 1 under power, 1 silent -> 7 / 10.
    const nodes = Array.from({ length: 10 }, (_, i) => lamp(i, { circuit: `C${i}` }));
    const p = new LightingProcessor();
    const m = new LightingMerger();
    feed(
      p,
      nodes,
      (_, i) =>
        i === 9 ? null : i === 7 ? { powerState: 'off' } : i === 8 ? { powerState: 'on', powerW: 100 } : { powerState: 'on', powerW: 195 },
      NIGHT - 60_000,
    );
    const { kpis, conditions } = evaluateWhole(p, m, ctx(nodes, NIGHT));
    expect(kpis.scheduledOn).toBe(true);
    expect(kpis.rate).toBeCloseTo(0.7, 10);
    expect(kpis).toMatchObject({ lit: 7, expected: 10 });
    expect((kpis.byRoadClass as Record<string, { rate: number; target: number; compliant: boolean }>).main).toMatchObject({
      target: 0.99,
      compliant: false,
    });
    expect(
      conditions
        .filter((c) => c.alertname === 'StreetlightOut')
        .map((c) => c.labels.node)
        .sort(),
    ).toEqual(['SL-7', 'SL-8', 'SL-9']);
    expect(conditions.filter((c) => c.alertname === 'LightingRateBelowTarget')).toHaveLength(1);
  });

  it('counts a lamp whose last report is older than its interval x grace as dark', () => {
    const nodes = [lamp(1, { circuit: 'A' }), lamp(2, { circuit: 'B' })];
    const p = new LightingProcessor();
    const m = new LightingMerger();
    feed(p, nodes, () => ({ powerState: 'on', powerW: 200 }), NIGHT - 300_000 * 3 - 1000); // just past 15 min
    p.apply(record(nodes[1] as NodeOf<'streetlight'>, { ts: NIGHT - 1000, powerState: 'on', powerW: 200 }));
    expect(evaluateWhole(p, m, ctx(nodes, NIGHT)).kpis.rate).toBe(0.5);
  });

  it('uses the branch/alley target for branch roads', () => {
    const nodes = Array.from({ length: 20 }, (_, i) => lamp(i, { roadClass: 'branch', circuit: `C${i}` }));
    const p = new LightingProcessor();
    const m = new LightingMerger();
    feed(p, nodes, (_, i) => ({ powerState: i === 0 ? 'off' : 'on' }), NIGHT); // 19 / 20 = 95 %
    const { kpis, conditions } = evaluateWhole(p, m, ctx(nodes, NIGHT));
    expect((kpis.byRoadClass as Record<string, { rate: number; compliant: boolean }>).branch).toMatchObject({
      rate: 0.95,
      compliant: true,
    });
    expect(conditions.some((c) => c.alertname === 'LightingRateBelowTarget')).toBe(false);
  });

  it('raises one CircuitDark for a circuit mostly dark and no StreetlightOut for its lamps', () => {
    const nodes = [
      ...Array.from({ length: 40 }, (_, i) => lamp(i, { circuit: 'DARK' })),
      ...Array.from({ length: 10 }, (_, i) => lamp(100 + i, { circuit: 'OK' })),
    ];
    const p = new LightingProcessor();
    const m = new LightingMerger();
    feed(
      p,
      nodes,
      (n, i) => ({ powerState: n.nodeId === 'SL-100' || ((n as { circuit: string }).circuit === 'DARK' && i < 35) ? 'off' : 'on' }),
      NIGHT,
    );
    const { conditions } = evaluateWhole(p, m, ctx(nodes, NIGHT));
    const circuit = conditions.filter((c) => c.alertname === 'CircuitDark');
    expect(circuit).toHaveLength(1);
    expect(circuit[0]).toMatchObject({ labels: { circuit: 'DARK' }, value: 35 });
    const out = conditions.filter((c) => c.alertname === 'StreetlightOut');
    expect(out.map((c) => c.labels.node)).toEqual(['SL-100']);
  });

  it("does not judge the rate in daytime, keeps last night's, and flags lamps on in daylight", () => {
    const nodes = [lamp(1, { circuit: 'A' }), lamp(2, { circuit: 'B' })];
    const p = new LightingProcessor();
    const m = new LightingMerger();
    feed(p, nodes, (_, i) => ({ powerState: i === 0 ? 'on' : 'off' }), NIGHT);
    expect(evaluateWhole(p, m, ctx(nodes, NIGHT)).kpis.rate).toBe(0.5);
    feed(p, nodes, (_, i) => ({ powerState: i === 0 ? 'on' : 'off' }), DAY - 60_000);
    const { kpis, conditions } = evaluateWhole(p, m, ctx(nodes, DAY));
    expect(kpis).toMatchObject({ scheduledOn: false, rate: 0.5, rateAt: NIGHT, expected: 0, onInDaytime: 1 });
    expect(conditions.map((c) => c.alertname)).toEqual(['StreetlightOnInDaytime']);
  });

  it('leaves lamps never heard from out of the rate during warm-up, and counts them dark after it', () => {
    const nodes = [lamp(1, { circuit: 'A' }), lamp(2, { circuit: 'B' })];
    const p = new LightingProcessor();
    const m = new LightingMerger();
    p.apply(record(nodes[0] as NodeOf<'streetlight'>, { ts: NIGHT, powerState: 'on' }));
    const early = evaluateWhole(p, m, ctx(nodes, NIGHT + 60_000, {}, NIGHT));
    expect(early.kpis).toMatchObject({ rate: 1, lit: 1, expected: 1, unknown: 1 });
    expect(early.conditions).toEqual([]);
    // 300 s interval x 3 grace after the pipeline started listening: lamp 2 is now dark.
    p.apply(record(nodes[0] as NodeOf<'streetlight'>, { ts: NIGHT + 900_000, powerState: 'on' }));
    const later = evaluateWhole(p, m, ctx(nodes, NIGHT + 900_000, {}, NIGHT));
    expect(later.kpis).toMatchObject({ rate: 0.5, unknown: 0 });
    expect(later.conditions.map((c) => c.labels.node)).toContain('SL-2');
  });
});

type Kpis = Record<string, any>;
const lampOn = (n: RegistryNode, ts: number, extra: object = {}) =>
  record(n as NodeOf<'streetlight'>, { ts, powerState: 'on', dim: 100, powerW: 200, voltageV: 220, ...extra } as never);
const lampOff = (n: RegistryNode, ts: number, extra: object = {}) =>
  record(n as NodeOf<'streetlight'>, { ts, powerState: 'off', powerW: 0, voltageV: 220, ...extra } as never);

describe('half-night mode', () => {
  it('leaves the resting lamps out of the expected count through a winter night crossing midnight', () => {
    // 8 main-road lamps SL-1..SL-8, one circuit each. Winter: sunset 16:59, half-night from 22:30,
    // sunrise 07:20. Even-numbered lamps rest at half-night.
    const nodes = Array.from({ length: 8 }, (_, i) => lamp(i + 1, { circuit: `C${i + 1}` }));
    const p = new LightingProcessor();
    const m = new LightingMerger();
    const ev = (now: number) => evaluateWhole(p, m, ctx(nodes, now));

    // 22:00: all lit but SL-8 (off) -> 7 of 8 = 0.875; SL-8 out.
    nodes.forEach((n, i) => p.apply(i === 7 ? lampOff(n, at('2026-12-21T21:59:00')) : lampOn(n, at('2026-12-21T21:59:00'))));
    let r = ev(at('2026-12-21T22:00:00'));
    expect(r.kpis).toMatchObject({ scheduledOn: true, halfNight: false, lit: 7, expected: 8, rate: 0.875, resting: 0 });
    expect(r.conditions.filter((c) => c.alertname === 'StreetlightOut').map((c) => c.labels.node)).toEqual(['SL-8']);

    // 23:00: half-night. Odd lamps on; even lamps off, except SL-2 still on (not an error).
    // Expected = SL-1, 3, 5, 7 = 4, lit 4 -> 1.0; resting 4; no StreetlightOut.
    nodes.forEach((n, i) =>
      p.apply((i + 1) % 2 === 1 || i === 1 ? lampOn(n, at('2026-12-21T22:59:00')) : lampOff(n, at('2026-12-21T22:59:00'))),
    );
    r = ev(at('2026-12-21T23:00:00'));
    expect(r.kpis).toMatchObject({ halfNight: true, lit: 4, expected: 4, rate: 1, resting: 4 });
    expect(r.conditions).toEqual([]);

    // 00:30 the next day, still the same half-night: SL-7 went off at 00:25 -> 3 of 4 = 0.75.
    nodes.forEach((n, i) =>
      p.apply(
        i === 6
          ? lampOff(n, at('2026-12-22T00:25:00'))
          : (i + 1) % 2 === 1
            ? lampOn(n, at('2026-12-22T00:25:00'))
            : lampOff(n, at('2026-12-22T00:25:00')),
      ),
    );
    r = ev(at('2026-12-22T00:30:00'));
    expect(r.kpis).toMatchObject({ halfNight: true, halfNightFrom: at('2026-12-21T22:30:00'), lit: 3, expected: 4, rate: 0.75 });
    expect(r.conditions.filter((c) => c.alertname === 'StreetlightOut').map((c) => c.labels.node)).toEqual(['SL-7']);
    // The road is judged on its 4 lamps that should be lit: 1 dark <= 2 allowed; with none allowed it fails.
    expect(r.kpis.roads).toMatchObject({ total: 1, compliant: 1, nonCompliant: [] });
    const strict = evaluateWhole(p, new LightingMerger(), ctx(nodes, at('2026-12-22T00:30:00'), { LIGHTING_ROAD_MAX_DARK: '99:0' }));
    expect(strict.kpis.roads).toMatchObject({
      total: 1,
      compliant: 0,
      nonCompliant: [{ road: 'Jingshi Road', lamps: 4, dark: 1, rate: 0.75, rule: 'max-dark:0' }],
    });

    // 08:00: switched off at sunrise; the KPI keeps the last night's rate.
    nodes.forEach((n) => p.apply(lampOff(n, at('2026-12-22T07:59:00'))));
    r = ev(at('2026-12-22T08:00:00'));
    expect(r.kpis).toMatchObject({ scheduledOn: false, halfNight: false, rate: 0.75, rateAt: at('2026-12-22T00:30:00'), expected: 0 });
  });

  it('expects every lamp when half-night mode is off', () => {
    const nodes = Array.from({ length: 4 }, (_, i) => lamp(i + 1, { circuit: `C${i + 1}` }));
    const p = new LightingProcessor();
    nodes.forEach((n, i) => p.apply(i % 2 === 0 ? lampOn(n, at('2026-12-21T22:59:00')) : lampOff(n, at('2026-12-21T22:59:00'))));
    const { kpis } = evaluateWhole(p, new LightingMerger(), ctx(nodes, at('2026-12-21T23:00:00'), { LIGHTING_HALF_NIGHT: 'off' }));
    expect(kpis).toMatchObject({ halfNight: false, lit: 2, expected: 4, rate: 0.5, resting: 0 });
  });

  it('still raises one CircuitDark when a circuit loses supply at half-night (resting lamps not counted)', () => {
    // 40 lamps on one circuit, summer 23:45 (half-night): 20 resting; the other 20 all dark -> 20 of 20.
    const nodes = Array.from({ length: 40 }, (_, i) => lamp(i + 1, { circuit: 'DARK' }));
    const p = new LightingProcessor();
    nodes.forEach((n) => p.apply(lampOff(n, at('2026-06-21T23:44:00'), { voltageV: 0, faults: ['supply-lost'] })));
    const { kpis, conditions } = evaluateWhole(p, new LightingMerger(), ctx(nodes, at('2026-06-21T23:45:00')));
    expect(kpis).toMatchObject({ halfNight: true, expected: 20, lit: 0, resting: 20, darkCircuits: 1 });
    expect(conditions.filter((c) => c.alertname === 'CircuitDark')).toMatchObject([{ labels: { circuit: 'DARK' }, value: 20 }]);
    expect(conditions.filter((c) => c.alertname === 'StreetlightOut')).toEqual([]);
  });
});

describe('installation rate', () => {
  it('is installed / designed positions per road class, district and city; a road without lamps counts 0 %', () => {
    const roads: RoadDesign[] = [
      { road: 'Jingshi Road', roadClass: 'main', district: 'Lixia', designedPositions: 10 }, // 8 lamps -> 8 of 10
      { road: 'Heping Lane', roadClass: 'branch', district: 'Lixia', designedPositions: 5 }, // no lamp -> 0 of 5
      { road: 'Wenhua Street', roadClass: 'secondary', district: 'Shizhong', designedPositions: 4 }, // 6 lamps -> capped 4 of 4
    ];
    const nodes = [
      ...Array.from({ length: 8 }, (_, i) => lamp(i + 1)),
      ...Array.from({ length: 6 }, (_, i) =>
        lamp(20 + i, { road: 'Wenhua Street', roadClass: 'secondary', district: 'Shizhong', circuit: 'C2' }),
      ),
      // Not in the design: designed = installed = 3.
      ...Array.from({ length: 3 }, (_, i) =>
        lamp(30 + i, { road: 'Daming Alley', roadClass: 'alley', district: 'Shizhong', circuit: 'C3' }),
      ),
    ];
    const c = { now: at('2026-06-22T12:00:00'), since: 0, config: config(), registry: new NodeRegistry(nodes, roads, defaultKinds()) };
    const { kpis } = evaluateWhole(new LightingProcessor(), new LightingMerger(), c) as { kpis: Kpis };
    // City: designed 10 + 5 + 4 + 3 = 22, installed 8 + 0 + 4 + 3 = 15.
    expect(kpis.installation).toEqual({ designed: 22, installed: 15, rate: 15 / 22 });
    expect(kpis.installationByDistrict).toEqual({
      Lixia: { designed: 15, installed: 8, rate: 8 / 15 },
      Shizhong: { designed: 7, installed: 7, rate: 1 },
    });
    expect(kpis.installationByRoadClass).toEqual({
      main: { designed: 10, installed: 8, rate: 0.8 },
      branch: { designed: 5, installed: 0, rate: 0 },
      secondary: { designed: 4, installed: 4, rate: 1 },
      alley: { designed: 3, installed: 3, rate: 1 },
    });
  });
});

describe('facility intact rate', () => {
  it('is facilities without an open fault / all facilities, per district and city, day or night', () => {
    const now = at('2026-06-22T12:00:00');
    const nodes = [
      ...Array.from({ length: 6 }, (_, i) => lamp(i + 1, { circuit: `C${i}` })),
      lamp(7, { district: 'Shizhong' }),
      lamp(8, { district: 'Shizhong' }),
    ];
    const p = new LightingProcessor();
    const t = now - 60_000;
    p.apply(lampOff(nodes[0]!, t)); // intact
    p.apply(lampOff(nodes[1]!, t, { faults: ['lamp-failure'] })); // fault code
    p.apply(lampOn(nodes[2]!, t, { powerW: 100 })); // 100 W < 80 % of 200 W while on
    p.apply(lampOff(nodes[3]!, t, { voltageV: 170 })); // supply under 180 V
    p.apply(lampOff(nodes[4]!, t, { voltageV: 270 })); // supply over 265 V
    p.apply(lampOff(nodes[5]!, now - 2 * 3_600_000)); // silent 2 h > 300 s x 3: lost contact
    p.apply(lampOff(nodes[6]!, t, { voltageV: 230, faults: [] })); // intact
    // SL-8 never reported, and the pipeline has listened for a day: lost contact.
    const { kpis } = evaluateWhole(p, new LightingMerger(), ctx(nodes, now)) as { kpis: Kpis };
    expect(kpis.intactByDistrict).toEqual({
      Lixia: { facilities: 6, intact: 1, rate: 1 / 6 },
      Shizhong: { facilities: 2, intact: 1, rate: 0.5 },
    });
    expect(kpis.intact).toEqual({ facilities: 8, intact: 2, rate: 0.25 });
    // During warm-up a lamp never heard from has no known fault.
    const early = evaluateWhole(p, new LightingMerger(), ctx(nodes, now, {}, now - 60_000)) as { kpis: Kpis };
    expect(early.kpis.intactByDistrict.Shizhong).toEqual({ facilities: 2, intact: 2, rate: 1 });
  });
});

describe('per-road small-road rule', () => {
  it('judges small roads by their dark lamps and large ones by the per-road floor', () => {
    // [road, class, lamps, dark] -> rule, compliant:
    const spec: [string, 'main' | 'branch', number, number][] = [
      ['R1', 'main', 50, 2], // <= 99 lamps, 2 dark allowed: compliant (96 %, under the 97 % floor, but a small road)
      ['R2', 'main', 50, 3], // 3 > 2: not compliant, 47/50 = 0.94
      ['R3', 'branch', 120, 3], // 100-149: 3 allowed: compliant
      ['R4', 'main', 200, 6], // >= 200: floor 97 %: 194/200 = 0.97: compliant
      ['R5', 'main', 200, 7], // 193/200 = 0.965 < 0.97: not compliant
      ['R6', 'branch', 250, 12], // 238/250 = 0.952 >= 0.95: compliant
    ];
    const nodes: RegistryNode[] = [];
    const dark = new Set<string>();
    let n = 0;
    for (const [road, roadClass, lamps, d] of spec) {
      for (let i = 0; i < lamps; i++) {
        const node = lamp(++n, { road, roadClass, circuit: `${road}-C${Math.floor(i / 40)}` });
        nodes.push(node);
        if (i < d) dark.add(node.nodeId);
      }
    }
    const p = new LightingProcessor();
    for (const node of nodes) p.apply(dark.has(node.nodeId) ? lampOff(node, NIGHT - 60_000) : lampOn(node, NIGHT - 60_000));
    const m = new LightingMerger();
    const { kpis } = evaluateWhole(p, m, ctx(nodes, NIGHT)) as { kpis: Kpis };
    expect(kpis.roads).toEqual({
      total: 6,
      compliant: 4,
      nonCompliant: [
        { road: 'R2', district: 'Lixia', roadClass: 'main', lamps: 50, dark: 3, rate: 0.94, rule: 'max-dark:2' },
        { road: 'R5', district: 'Lixia', roadClass: 'main', lamps: 200, dark: 7, rate: 0.965, rule: 'floor:0.97' },
      ],
      at: NIGHT,
    });
    // Configurable: with at most 1 dark up to 99 lamps and 2 up to 199, R1 (2 dark) and R3 (3 dark)
    // fail too; worst rate first: R2 0.94, R1 0.96, R5 0.965, R3 117/120 = 0.975.
    const strict = evaluateWhole(p, new LightingMerger(), ctx(nodes, NIGHT, { LIGHTING_ROAD_MAX_DARK: '99:1,199:2' })) as { kpis: Kpis };
    expect(strict.kpis.roads.nonCompliant.map((r: { road: string }) => r.road)).toEqual(['R2', 'R1', 'R5', 'R3']);
  });
});

describe('lighting state', () => {
  it('ignores an older reading arriving after a newer one, and a repeated one', () => {
    const nodes = [lamp(1)];
    const p = new LightingProcessor();
    p.apply(lampOn(nodes[0]!, NIGHT - 60_000));
    p.apply(lampOff(nodes[0]!, NIGHT - 120_000)); // out of order: older
    p.apply(lampOff(nodes[0]!, NIGHT - 60_000)); // same timestamp again: a repeat
    expect(evaluateWhole(p, new LightingMerger(), ctx(nodes, NIGHT)).kpis).toMatchObject({ lit: 1, expected: 1 });
  });

  it('round-trips through exportNode / importNode to an identical partial', () => {
    const nodes = Array.from({ length: 12 }, (_, i) => lamp(i + 1, { circuit: `C${i % 3}` }));
    const p = new LightingProcessor();
    nodes.forEach((n, i) => p.apply(i % 4 === 0 ? lampOff(n, NIGHT - 60_000, { faults: ['x'] }) : lampOn(n, NIGHT - 60_000)));
    const copy = new LightingProcessor();
    for (const n of nodes) {
      const state = JSON.parse(JSON.stringify(p.exportNode(n.nodeId) ?? null));
      if (state !== null) copy.importNode(n.nodeId, state);
    }
    const c = ctx(nodes, NIGHT);
    expect(copy.partial(nodes as NodeOf<'streetlight'>[], c)).toEqual(p.partial(nodes as NodeOf<'streetlight'>[], c));
  });
});

describe('incremental lighting tallies', () => {
  it('equal judging every lamp afresh through dusk, half-night, dawn, faults, silence and restores', () => {
    const registry = generateCity(defaultKinds(), { lamps: 600, parkingSpaces: 0, noiseStations: 0, wells: 0 });
    const lamps = registry.ofKind('streetlight');
    const p = new LightingProcessor();
    const rand = seededRandom(5);
    const start = at('2026-06-21T17:00:00');
    const c = (now: number) => ({ now, since: start, config: config(), registry });
    for (let now = start; now < start + 16 * 3_600_000; now += Math.floor(rand() * 1_200_000)) {
      for (let k = 0; k < 60; k++) {
        const n = lamps[Math.floor(rand() * lamps.length)]!;
        const ts = now - Math.floor(rand() * 900_000);
        const r = rand();
        p.apply(
          r < 0.6
            ? lampOn(n, ts)
            : r < 0.75
              ? lampOff(n, ts)
              : r < 0.85
                ? lampOn(n, ts, { powerW: 10 })
                : r < 0.92
                  ? lampOn(n, ts, { faults: ['driver'] })
                  : lampOn(n, ts, { voltageV: 300 }),
        );
      }
      if (rand() < 0.2) p.importNode(lamps[0]!.nodeId, JSON.parse(JSON.stringify(p.exportNode(lamps[1]!.nodeId) ?? null)));
      expect(p.partial(lamps, c(now))).toEqual(p.partial([...lamps], c(now)));
    }
  });
});

describe('lighting partitions', () => {
  it('merges the partials of two partitions into the KPIs of one', () => {
    const nodes = Array.from({ length: 30 }, (_, i) =>
      lamp(i + 1, {
        road: i < 20 ? 'Jingshi Road' : 'Heping Lane',
        roadClass: i < 20 ? 'main' : 'branch',
        district: i % 2 ? 'Lixia' : 'Shizhong',
        circuit: `C${i % 4}`,
      }),
    );
    const p = new LightingProcessor();
    nodes.forEach((n, i) => p.apply(i % 7 === 0 ? lampOff(n, NIGHT - 60_000, { faults: ['x'] }) : lampOn(n, NIGHT - 60_000)));
    const c = ctx(nodes, NIGHT);
    const lamps = nodes as NodeOf<'streetlight'>[];
    const halves = [lamps.filter((_, i) => i % 3 === 0), lamps.filter((_, i) => i % 3 !== 0)].map((part) => p.partial(part, c).section);
    const whole = new LightingMerger().merge([p.partial(lamps, c).section], c).kpis;
    expect(new LightingMerger().merge(halves, c).kpis).toEqual(whole);
  });
});

describe('lighting configuration', () => {
  it('parses the half-night times and the small-road ladder, and names a bad variable', () => {
    expect(config()).toMatchObject({
      LIGHTING_HALF_NIGHT: 'on',
      LIGHTING_HALF_NIGHT_SUMMER: 1410,
      LIGHTING_HALF_NIGHT_WINTER: 1350,
      LIGHTING_ROAD_MAX_DARK: [
        [99, 2],
        [149, 3],
        [199, 4],
      ],
    });
    expect(config({ LIGHTING_HALF_NIGHT_WINTER: '0:45' }).LIGHTING_HALF_NIGHT_WINTER).toBe(45);
    expect(() => config({ LIGHTING_HALF_NIGHT_SUMMER: '25:00' })).toThrow(/LIGHTING_HALF_NIGHT_SUMMER: must be HH:MM/);
    expect(() => config({ LIGHTING_ROAD_MAX_DARK: '149:3,99:2' })).toThrow(/LIGHTING_ROAD_MAX_DARK: road sizes must ascend/);
    expect(() => config({ LIGHTING_ROAD_MAX_DARK: '99' })).toThrow(/LIGHTING_ROAD_MAX_DARK/);
  });
});
