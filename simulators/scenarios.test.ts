import { describe, expect, it } from 'vitest';
import { generateCity, noisePeriod, type ProfileReading, type RegistryNode } from '../core/index.js';
import { SimulationEngine, type PublishSink } from './engine.js';
import type { SimulationContext } from './models/context.js';
import { generateReading } from './models/index.js';
import { groundwaterModel } from '../core/kinds/groundwater/model.js';
import { ZONE_LIMITS as NOISE_LIMITS } from '../core/index.js';
import { noiseModel } from '../core/kinds/noise/model.js';
import { parkingOccupied } from '../core/kinds/parking/model.js';
import { streetlightModel } from '../core/kinds/streetlight/model.js';
import { BAD_PAYLOAD_KINDS, buildScenario, parseScenario, scenarioDescriptions } from './scenarios.js';
import { trendCmPerDay } from '../core/kinds/groundwater/level.js';
import { defaultKinds } from '../core/kinds/modules.js';
import { effects } from '../test/scenario-effects.js';

const city = generateCity(defaultKinds(), { lamps: 600, parkingSpaces: 600, noiseStations: 24, wells: 8 });
const nodes = [...city.all()];
const DAY0 = Date.parse('2026-03-09T16:00:00Z'); // local midnight
const at = (h: number) => DAY0 + h * 3_600_000;
const START = at(21);
const scenario = (name: string) => buildScenario(name, nodes, { seed: 3, start: START, kinds: defaultKinds() });
const ctxOf = (name: string): SimulationContext => ({ seed: 3, scenario: scenario(name), kinds: defaultKinds() });

/** Collects what the engine publishes; acknowledges at once. */
class ArraySink implements PublishSink {
  messages: { topic: string; payload: string }[] = [];
  publish(_route: number, topic: string, payload: string, done: (error?: Error) => void): void {
    this.messages.push({ topic, payload });
    done();
  }
}

function run(
  name: string,
  opts: { wallS: number; speed: number; nodes?: RegistryNode[]; tuning?: Parameters<typeof buildScenario>[2]['tuning'] },
) {
  const list = opts.nodes ?? nodes;
  const sc = buildScenario(name, list, { seed: 3, start: START, tuning: opts.tuning, kinds: defaultKinds() });
  const sink = new ArraySink();
  const wall0 = 1_000_000;
  const engine = new SimulationEngine(
    {
      registry: city,
      nodes: list,
      scenario: sc,
      seed: 3,
      rate: Infinity,
      speed: opts.speed,
      start: START,
      wallStart: wall0,
      warmupS: 20,
      maxBatch: 100,
      gatewayFlushMs: 200,
      maxInflight: 1e9,
    },
    sink,
  );
  for (let w = 0; w <= opts.wallS * 1000; w += 100) engine.step(wall0 + w);
  engine.flushAll();
  return { sink, engine, sc };
}

describe('scenarios', () => {
  it('parses names and mixes, and rejects unknown names', () => {
    const described = scenarioDescriptions(defaultKinds());
    expect(parseScenario('normal', defaultKinds())).toEqual(['normal']);
    expect(parseScenario('circuit-dark+bad-payloads', defaultKinds())).toEqual(['circuit-dark', 'bad-payloads']);
    expect(() => parseScenario('meteor-strike', defaultKinds())).toThrow(/unknown scenario "meteor-strike"/);
    for (const name of described.keys()) expect(() => scenario(name)).not.toThrow();
    // The shipped profiles' scenarios are scenarios of the simulator too.
    expect([...described.keys()]).toEqual(expect.arrayContaining(['rainstorm', 'cover-displaced']));
    expect(parseScenario('rainstorm+cover-displaced+bad-payloads', defaultKinds())).toEqual([
      'rainstorm',
      'cover-displaced',
      'bad-payloads',
    ]);
    expect(described.get('rainstorm')).toMatch(/^waterlogging: .*34 % of the nodes, reached over 1800 s/);
  });

  it("profile scenarios: a share of the kind's nodes, drawn with the seed, nothing else moves", () => {
    const storm = scenario('rainstorm');
    const points = city.ofKind('waterlogging');
    expect(effects(storm).profileTargets.size).toBe(Math.round(points.length * 0.34));
    expect([...effects(storm).profileTargets.keys()].every((id) => city.get(id)!.kind === 'waterlogging')).toBe(true);
    expect(effects(storm).darkCircuits.size + effects(storm).wellTargets.size + effects(storm).fullLots.size + storm.badShare).toBe(0);
    expect(effects(scenario('rainstorm')).profileTargets).toEqual(effects(storm).profileTargets);
    expect(effects(buildScenario('rainstorm', nodes, { seed: 4, start: START, kinds: defaultKinds() })).profileTargets).not.toEqual(
      effects(storm).profileTargets,
    );
    const both = scenario('rainstorm+cover-displaced');
    expect(new Set([...effects(both).profileTargets.values()].map((t) => t.scenario))).toEqual(new Set(['rainstorm', 'cover-displaced']));
    expect(effects(scenario('normal')).profileTargets.size).toBe(0);
  });

  it('normal: no dark circuits, no targets, no bad data', () => {
    const s = scenario('normal');
    expect(effects(s).darkCircuits.size + effects(s).wellTargets.size + effects(s).noisyStations.size + effects(s).fullLots.size).toBe(0);
    expect(s.badShare).toBe(0);
    expect(s.outage).toBeUndefined();
  });

  it('circuit-dark: every lamp of the chosen circuits is off at night', () => {
    const c = ctxOf('circuit-dark');
    expect(effects(c.scenario).darkCircuits.size).toBe(3);
    const lamps = city.ofKind('streetlight');
    const dark = lamps.filter((l) => effects(c.scenario).darkCircuits.has(l.circuit));
    expect(dark.length).toBeGreaterThan(3);
    for (const l of dark) {
      const r = streetlightModel(l, at(23), c);
      expect(r.powerState).toBe('off');
      expect(r.powerW).toBe(0);
      expect(r.faults).toContain('supply-lost');
    }
    const lit = lamps.filter((l) => !effects(c.scenario).darkCircuits.has(l.circuit) && streetlightModel(l, at(22), c).powerState === 'on'); // before half-night (22:30 in winter)
    expect(lit.length / (lamps.length - dark.length)).toBeGreaterThan(0.98);
  });

  it('spring-drought: every well below its yellow line, half below orange, Baotu about 27.9 m', () => {
    const c = ctxOf('spring-drought');
    for (const w of city.ofKind('groundwater')) {
      for (let h = 0; h < 48; h += 1) {
        const r = groundwaterModel(w, START + h * 3_600_000, c);
        expect(r.waterTableM).toBeLessThan(w.lines.yellow);
        expect(r.waterTableM).toBeGreaterThan(w.lines.red);
      }
    }
    const baotu = city.ofKind('groundwater').find((w) => w.well === 'Baotu Spring')!;
    const level = groundwaterModel(baotu, at(23), c).waterTableM;
    expect(level).toBeGreaterThan(27.85);
    expect(level).toBeLessThan(27.95);
    const belowOrange = city.ofKind('groundwater').filter((w) => groundwaterModel(w, at(23), c).waterTableM < w.lines.orange);
    expect(belowOrange.length).toBeGreaterThanOrEqual(city.ofKind('groundwater').length / 2);
  });

  it('night-construction: a residential station far over its night limit with LAmax > limit + 15 at night', () => {
    const c = ctxOf('night-construction');
    const [id] = [...effects(c.scenario).noisyStations.keys()];
    const station = city.ofKind('noise').find((s) => s.nodeId === id)!;
    expect(station.zoneClass).toBe('1');
    const limit = NOISE_LIMITS['1'].night;
    for (let m = 22 * 60; m < 30 * 60; m += 3) {
      const t = DAY0 + m * 60_000;
      expect(noisePeriod(t)).toBe('night');
      const r = noiseModel(station, t, c);
      expect(r.laeq).toBeGreaterThan(limit + 8);
      expect(r.lamax!).toBeGreaterThan(limit + 15);
    }
    // By day the site is quiet again.
    expect(noiseModel(station, at(10), c).laeq).toBeLessThan(NOISE_LIMITS['1'].day);
  });

  it('parking-rush: some lots over 95 % occupied, the rest at rush-hour demand', () => {
    const c = ctxOf('parking-rush');
    expect(effects(c.scenario).fullLots.size).toBeGreaterThan(0);
    const byLot = new Map<string, { occ: number; total: number }>();
    for (const s of city.ofKind('parking')) {
      const e = byLot.get(s.lotId) ?? { occ: 0, total: 0 };
      e.total++;
      if (parkingOccupied(s, at(13), c)) e.occ++;
      byLot.set(s.lotId, e);
    }
    for (const lot of effects(c.scenario).fullLots) {
      const e = byLot.get(lot)!;
      expect(e.occ / e.total).toBeGreaterThan(0.95);
    }
    const all = [...byLot.values()].reduce((a, e) => ({ occ: a.occ + e.occ, total: a.total + e.total }), { occ: 0, total: 0 });
    expect(all.occ / all.total).toBeGreaterThan(0.75);
  });

  it('gateway-outage: one gateway goes silent, then replays its buffered readings with their original timestamps', () => {
    // 300 simulated s per wall s; outage from START+60 s for 20 min; run 8 wall s = 40 simulated min.
    const { sink, sc, engine } = run('gateway-outage', { wallS: 8, speed: 300 });
    const outage = sc.outage!;
    expect(outage.gatewayId).toMatch(/^GW-/);
    const gwTopic = `city/gateways/${outage.gatewayId}/batch`;
    const lampsOfGw = city.ofKind('streetlight').filter((l) => l.gatewayId === outage.gatewayId);
    const batches = sink.messages.map((m, index) => ({
      index,
      topic: m.topic,
      readings: m.topic.endsWith('/batch') ? (JSON.parse(m.payload).readings as { ts: number; nodeId: string }[]) : [],
    }));
    const ofGw = batches.filter((b) => b.topic === gwTopic);
    const inWindow = (ts: number) => ts >= outage.from && ts < outage.to;
    const replay = ofGw.filter((b) => b.readings.some((r) => inWindow(r.ts)));
    expect(replay.length).toBeGreaterThan(0);
    // Each lamp reports every 300 s: 20 min of outage is 4 readings per lamp.
    const replayed = replay.flatMap((b) => b.readings);
    expect(replayed.length).toBe(lampsOfGw.length * 4);
    expect(replayed.every((r) => inWindow(r.ts))).toBe(true);
    // Published only once the simulated clock has passed the end of the outage (live traffic had reached it).
    const firstReplay = replay[0]!.index;
    const tsOf = (m: { topic: string; payload: string }) =>
      m.topic.endsWith('/batch')
        ? Math.max(...(JSON.parse(m.payload).readings as { ts: number }[]).map((r) => r.ts))
        : (JSON.parse(m.payload).ts as number);
    const before = sink.messages.slice(0, firstReplay).map(tsOf);
    expect(Math.max(...before)).toBeGreaterThan(outage.to - 60_000);
    expect(sink.messages.slice(firstReplay).some((m) => m.topic === gwTopic && tsOf(m) >= outage.to)).toBe(true);
    // Nothing from the window went out before the replay.
    expect(
      ofGw
        .filter((b) => b.index < firstReplay)
        .flatMap((b) => b.readings)
        .some((r) => inWindow(r.ts)),
    ).toBe(false);
    const s = engine.stats();
    expect(s.replayed).toBe(replayed.length);
    expect(s.buffered).toBe(0);
  });

  it('bad-payloads: every kind of bad message appears alongside valid traffic', () => {
    const some = [
      ...city.ofKind('streetlight').slice(0, 80),
      ...city.ofKind('groundwater'),
      ...city.ofKind('noise'),
      ...city.ofKind('parking').slice(0, 80),
      ...city.ofKind('waterlogging'),
      ...city.ofKind('manhole').slice(0, 40),
    ];
    const { sink, engine } = run('bad-payloads', { wallS: 3, speed: 200, nodes: some, tuning: { badShare: 0.2 } });
    const s = engine.stats();
    for (const kind of BAD_PAYLOAD_KINDS) expect(s.badByKind[kind], kind).toBeGreaterThan(0);
    expect(s.readings).toBeGreaterThan(s.badPayloads * 2);
    let malformed = 0,
      schema = 0,
      unknownNode = 0,
      mismatch = 0,
      oversize = 0,
      unknownKind = 0,
      wrongDistrict = 0,
      valid = 0;
    for (const { topic, payload } of sink.messages) {
      if (topic.endsWith('/batch')) continue;
      const [, district, kind, nodeId] = topic.split('/') as [string, string, string, string];
      if (payload.length > 16_384) {
        oversize++;
        continue;
      }
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(payload);
      } catch {
        malformed++;
        continue;
      }
      if (!city.kinds.has(kind)) {
        unknownKind++;
        continue;
      }
      const node = city.get(nodeId);
      if (!node) {
        unknownNode++;
        continue;
      }
      if (node.district !== district) {
        wrongDistrict++;
        continue;
      }
      if (body.nodeId !== undefined && body.nodeId !== nodeId) {
        mismatch++;
        continue;
      }
      if (!city.kinds.get(kind)!.reading.safeParse(body).success) schema++;
      else valid++;
    }
    expect({ malformed, schema, unknownNode, mismatch, oversize, unknownKind, wrongDistrict }).toEqual({
      malformed: s.badByKind['malformed-json'],
      schema: s.badByKind['schema-violation'],
      unknownNode: s.badByKind['unknown-node'],
      mismatch: s.badByKind['node-mismatch'],
      oversize: s.badByKind.oversize,
      unknownKind: s.badByKind['unknown-kind'],
      wrongDistrict: s.badByKind['wrong-district'],
    });
    expect(valid).toBe(s.direct);
    // Profile kinds' readings go bad too (their schema violations follow the profile's fields).
    const kindsOfBad = new Set(sink.messages.filter((m) => !m.topic.endsWith('/batch')).map((m) => m.topic.split('/')[2]));
    expect(kindsOfBad.has('waterlogging')).toBe(true);
  });

  it('demo: one dark circuit, a well below a line, one full lot, a noisy station, a little bad data', () => {
    const s = scenario('demo');
    expect(effects(s).darkCircuits.size).toBe(1);
    expect(effects(s).wellTargets.size).toBe(1);
    expect(effects(s).fullLots.size).toBe(1);
    expect([...effects(s).noisyStations.values()]).toEqual(['always']);
    expect(s.badShare).toBeGreaterThan(0);
    expect(s.badShare).toBeLessThanOrEqual(0.02);
    const c: SimulationContext = { seed: 3, scenario: s, kinds: defaultKinds() };
    const [wellId, level] = [...effects(s).wellTargets][0]!;
    const well = city.ofKind('groundwater').find((w) => w.nodeId === wellId)!;
    expect(well.well).toBe('Baotu Spring');
    expect(level).toBeLessThan(well.lines.orange);
    const station = city.ofKind('noise').find((n) => effects(s).noisyStations.has(n.nodeId))!;
    expect(noiseModel(station, at(10), c).laeq).toBeGreaterThan(NOISE_LIMITS[station.zoneClass].day);
    expect(noiseModel(station, at(23), c).lamax!).toBeGreaterThan(NOISE_LIMITS[station.zoneClass].night + 15);
    // One flooded waterlogging point and one displaced cover, once their ramps are done.
    expect([...effects(s).profileTargets.values()].map((t) => t.scenario).sort()).toEqual(['cover-displaced', 'rainstorm']);
    const [point] = city.ofKind('waterlogging').filter((p) => effects(s).profileTargets.has(p.nodeId));
    const [cover] = city.ofKind('manhole').filter((m) => effects(s).profileTargets.has(m.nodeId));
    expect((generateReading(point!, START + 1800_000, c) as ProfileReading).depthM as number).toBeGreaterThan(0.15);
    expect(generateReading(cover!, START, c)).toMatchObject({ open: true });
  });

  it('demo: one well falls fast whatever the hour a run starts at, then settles under its red line', () => {
    const wells = city.ofKind('groundwater');
    for (let hour = 0; hour < 24; hour++) {
      // A run of 80 simulated minutes from each hour of the day, one reading a minute as the wells send.
      const start = at(hour) + 17 * 60_000;
      const s = buildScenario('demo', nodes, { seed: 3, start, kinds: defaultKinds() });
      expect(effects(s).fallingWells.size).toBe(1);
      const [id, rate] = [...effects(s).fallingWells][0]!;
      expect(effects(s).wellTargets.has(id)).toBe(false);
      const well = wells.find((w) => w.nodeId === id)!;
      const points = Array.from({ length: 80 }, (_, m) => start + m * 60_000).map((t) => ({
        ts: t,
        level: groundwaterModel(well, t, { seed: 3, scenario: s }).waterTableM,
      }));
      const trend = trendCmPerDay(points)!;
      expect(trend, `run from ${hour}:17`).toBeLessThan(-5); // GroundwaterFallingFast's default threshold
      expect(rate * 100).toBe(30);
      // Days later it sits just under its red line (with its daily swing), not below the pool bottom.
      const late = groundwaterModel(well, start + 20 * 86_400_000, { seed: 3, scenario: s }).waterTableM;
      expect(late).toBeLessThan(well.lines.red);
      expect(late).toBeGreaterThan(well.lines.red - 0.35);
    }
  });
});
