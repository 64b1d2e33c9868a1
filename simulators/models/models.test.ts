import { describe, expect, it } from 'vitest';
import { generateCity, noisePeriod, parseProfile, type NodeOf, type ProfileNode, type ProfileReading } from '../../core/index.js';
import { buildScenario } from '../scenarios.js';
import { normalState, type SimulationContext } from './context.js';
import { generateReading } from './index.js';
import { groundwaterModel } from '../../core/kinds/groundwater/model.js';
import { ZONE_LIMITS as NOISE_LIMITS } from '../../core/index.js';
import { noiseModel } from '../../core/kinds/noise/model.js';
import { parkingModel, parkingOccupied } from '../../core/kinds/parking/model.js';
import { profileModel, rampProgress } from './profile.js';
import { lampFault, lampResting, lampsScheduledOn, streetlightModel } from '../../core/kinds/streetlight/model.js';
import { defaultKinds, kindCatalog } from '../../core/kinds/modules.js';
import { effects } from '../../test/scenario-effects.js';

const city = generateCity(defaultKinds(), { lamps: 400, parkingSpaces: 300, noiseStations: 24, wells: 8 });
const nodes = [...city.all()];
// 2026-03-10 00:00 local (Asia/Shanghai) = 2026-03-09T16:00Z
const DAY0 = Date.parse('2026-03-09T16:00:00Z');
const H = 3_600_000;
const at = (localHour: number, day = 0) => DAY0 + day * 86_400_000 + localHour * H;
const ctx = (start = DAY0, seed = 7): SimulationContext => ({ seed, scenario: normalState(start), kinds: defaultKinds() });

describe('reading models', () => {
  it('every reading of every kind validates against its zod schema, at many times', () => {
    const c = ctx();
    const times = Array.from({ length: 30 }, (_, i) => DAY0 + i * 47 * 60_000 * 7 + i * 1_234);
    let checked = 0;
    for (const node of nodes) {
      for (const t of times.slice(0, node.kind === 'streetlight' || node.kind === 'parking' ? 6 : 30)) {
        const reading = generateReading(node, t, c, (t / 1000) % 2 === 0);
        const r = city.kinds.get(node.kind)!.reading.safeParse(reading);
        if (!r.success) throw new Error(`${node.nodeId} at ${new Date(t).toISOString()}: ${r.error.message} ${JSON.stringify(reading)}`);
        expect(reading.ts).toBe(t);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(3000);
    expect(new Set(nodes.map((n) => n.kind))).toEqual(new Set(city.kinds.names()));
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const t = at(23) + 12_345;
    for (const node of nodes.slice(0, 800).filter((_, i) => i % 7 === 0)) {
      expect(generateReading(node, t, ctx(DAY0, 7))).toEqual(generateReading(node, t, ctx(DAY0, 7)));
    }
    const wells = city.ofKind('groundwater');
    const a = wells.map((w) => groundwaterModel(w, t, ctx(DAY0, 1)).waterTableM);
    const b = wells.map((w) => groundwaterModel(w, t, ctx(DAY0, 2)).waterTableM);
    expect(a).not.toEqual(b);
  });

  it('lamps follow the sunset..sunrise schedule: on at local 23:00, off at local 12:00', () => {
    expect(lampsScheduledOn(at(23))).toBe(true);
    expect(lampsScheduledOn(at(3))).toBe(true);
    expect(lampsScheduledOn(at(12))).toBe(false);
    const c = ctx();
    const lamps = city.ofKind('streetlight');
    const healthy = lamps.filter((l) => lampFault(l, c) === undefined);
    expect(healthy.length).toBeGreaterThan(380);
    // 22:00 (before half-night, which starts 22:30 in winter); at 23:00 every other lamp rests.
    for (const lamp of healthy) expect(streetlightModel(lamp, at(23), c).powerState).toBe(lampResting(lamp, at(23)) ? 'off' : 'on');
    expect(healthy.filter((l) => lampResting(l, at(23))).length).toBe(healthy.filter((l) => Number(l.nodeId.slice(-6)) % 2 === 0).length);
    for (const lamp of healthy) {
      const night = streetlightModel(lamp, at(22), c);
      expect(night.powerState).toBe('on');
      expect(night.powerW!).toBeGreaterThan(lamp.ratedW * 0.95);
      expect(night.powerW!).toBeLessThan(lamp.ratedW * 1.05);
      expect(night.voltageV!).toBeGreaterThanOrEqual(215);
      expect(night.voltageV!).toBeLessThanOrEqual(225);
      expect(night.pf!).toBeCloseTo(0.95, 1);
      expect(night.currentA!).toBeCloseTo(night.powerW! / (night.voltageV! * night.pf!), 2);
      const noon = streetlightModel(lamp, at(12), c);
      expect(noon.powerState).toBe('off');
      expect(noon.powerW).toBe(0);
    }
  });

  it('energy counters only go up, and grow during the night', () => {
    const c = ctx(at(18));
    for (const lamp of city.ofKind('streetlight').slice(0, 50)) {
      let last = -1;
      for (let t = at(18); t < at(18, 2); t += 40 * 60_000) {
        const e = streetlightModel(lamp, t, c).energyWh!;
        expect(e).toBeGreaterThanOrEqual(last);
        last = e;
      }
      const e0 = streetlightModel(lamp, at(21), c).energyWh!;
      const e1 = streetlightModel(lamp, at(22), c).energyWh!;
      if (lampFault(lamp, c) === undefined) expect(e1 - e0).toBeCloseTo(lamp.ratedW, 0);
      // A resting lamp burns 22:00-22:30 only (half-night from 22:30 in winter): half an hour of rated power.
      const e2 = streetlightModel(lamp, at(23), c).energyWh!;
      if (lampFault(lamp, c) === undefined) expect(e2 - e1).toBeCloseTo(lampResting(lamp, at(23)) ? lamp.ratedW / 2 : lamp.ratedW, 0);
    }
  });

  it('about 0.5 % of lamps are faulty, each dark at night or under 80 % of rated power', () => {
    const big = generateCity(defaultKinds(), { lamps: 20_000, parkingSpaces: 0, noiseStations: 0, wells: 0 });
    const c = ctx();
    const faulty = big.ofKind('streetlight').filter((l) => lampFault(l, c) !== undefined);
    expect(faulty.length).toBeGreaterThan(60);
    expect(faulty.length).toBeLessThan(150);
    for (const lamp of faulty) {
      const r = streetlightModel(lamp, at(23), c);
      const fault = lampFault(lamp, c);
      if (fault === 'lamp-failure') expect(r.powerState).toBe('off');
      if (fault === 'low-power') expect(r.powerW!).toBeLessThan(lamp.ratedW * 0.8);
      if (fault === 'relay-stuck') expect(streetlightModel(lamp, at(12), c).powerState).toBe('on');
    }
  });

  it('wells sit above their yellow line, swing 3-4 cm a day (higher in the morning), about 18 C', () => {
    const c = ctx();
    for (const well of city.ofKind('groundwater')) {
      const levels = Array.from({ length: 24 * 6 }, (_, i) => groundwaterModel(well, DAY0 + i * 600_000, c));
      for (const r of levels) {
        expect(r.waterTableM).toBeGreaterThan(well.lines.yellow + 0.3);
        expect(r.tempC!).toBeGreaterThan(17);
        expect(r.tempC!).toBeLessThan(19);
      }
      const values = levels.map((r) => r.waterTableM);
      const swing = Math.max(...values) - Math.min(...values);
      expect(swing).toBeGreaterThan(0.025);
      expect(swing).toBeLessThan(0.065);
      const morning = groundwaterModel(well, at(7), c).waterTableM;
      const evening = groundwaterModel(well, at(19), c).waterTableM;
      expect(morning).toBeGreaterThan(evening);
    }
    const baotu = city.ofKind('groundwater').find((w) => w.well === 'Baotu Spring')!;
    expect(groundwaterModel(baotu, at(12), c).waterTableM).toBeGreaterThan(28.5);
    expect(groundwaterModel(baotu, at(12), c).waterTableM).toBeLessThan(28.75);
  });

  it('noise: day louder than night, roadside about 65-72 by day, percentile and max/min order, periodS 60', () => {
    const c = ctx();
    for (const station of city.ofKind('noise')) {
      const limits = NOISE_LIMITS[station.zoneClass];
      let dayMax = 0;
      for (let m = 0; m < 24 * 60; m += 7) {
        const t = DAY0 + m * 60_000;
        const r = noiseModel(station, t, c);
        expect(r.lamax!).toBeGreaterThan(r.laeq);
        expect(r.lamin!).toBeLessThan(r.laeq);
        expect(r.l10!).toBeGreaterThanOrEqual(r.l50!);
        expect(r.l50!).toBeGreaterThanOrEqual(r.l90!);
        expect(r.lamax!).toBeGreaterThanOrEqual(r.l10!);
        expect(r.lamin!).toBeLessThanOrEqual(r.l90!);
        expect(r.periodS).toBe(60);
        // The healthy city stays under the night peak rule (Lmax <= limit + 15).
        if (noisePeriod(t) === 'night') expect(r.lamax!).toBeLessThanOrEqual(limits.night + 15);
        else dayMax = Math.max(dayMax, r.laeq);
        if (station.zoneClass === '4a' && noisePeriod(t) === 'day' && m >= 7 * 60 && m < 21 * 60) {
          expect(r.laeq).toBeGreaterThan(59);
          expect(r.laeq).toBeLessThan(73);
        }
      }
      const day = noiseModel(station, at(10), c).laeq;
      const night = noiseModel(station, at(3), c).laeq;
      expect(day).toBeGreaterThan(night);
      expect(dayMax).toBeLessThan(limits.day + 4);
    }
  });

  it('parking follows the hour (rush hours fuller), heartbeats carry ~3.3 V, events do not', () => {
    const c = ctx();
    const spaces = city.ofKind('parking');
    const share = (t: number) => spaces.filter((s) => parkingOccupied(s, t, c)).length / spaces.length;
    const rush = (share(at(8.5)) + share(at(18))) / 2;
    const night = share(at(3));
    const midday = share(at(13));
    expect(rush).toBeGreaterThan(midday);
    expect(midday).toBeGreaterThan(night);
    expect(rush).toBeGreaterThan(0.65);
    expect(night).toBeLessThan(0.45);
    const hb = spaces.map((s) => parkingModel(s, at(10), c, true));
    const volts = hb.map((r) => r.batteryV!);
    const mean = volts.reduce((a, b) => a + b, 0) / volts.length;
    expect(mean).toBeGreaterThan(3.2);
    expect(mean).toBeLessThan(3.4);
    expect(hb.every((r) => r.heartbeat === true && r.battery! >= 0 && r.battery! <= 1)).toBe(true);
    // A small share of weak batteries: low band (2.9-3.0 V) and critical (< 2.9 V).
    const big = generateCity(defaultKinds(), { lamps: 0, parkingSpaces: 6000, noiseStations: 0, wells: 0 }).ofKind('parking');
    const weak = big.map((s) => parkingModel(s, at(10), c, true)).filter((r) => r.batteryV! < 3.0);
    expect(weak.length).toBeGreaterThan(6);
    expect(weak.length).toBeLessThan(40);
    expect(weak.some((r) => r.batteryV! < 2.9 && r.battery! < 0.15)).toBe(true);
    expect(weak.some((r) => r.batteryV! >= 2.9)).toBe(true);
    const ev = parkingModel(spaces[0] as NodeOf<'parking'>, at(10), c, false);
    expect(ev.heartbeat).toBe(false);
    expect(ev.batteryV).toBeUndefined();
  });

  it('a space keeps its state within a slot and changes now and then', () => {
    const c = ctx();
    const space = city.ofKind('parking')[3]!;
    let changes = 0;
    let prev = parkingOccupied(space, at(0), c);
    for (let t = at(0); t < at(24); t += 60_000) {
      const occ = parkingOccupied(space, t, c);
      if (occ !== prev) changes++;
      prev = occ;
    }
    expect(changes).toBeGreaterThan(2);
    expect(changes).toBeLessThan(60);
  });

  it('scenario state feeds the models (demo mix)', () => {
    const sc = buildScenario('demo', nodes, { seed: 7, start: at(23), kinds: defaultKinds() });
    const c: SimulationContext = { seed: 7, scenario: sc, kinds: defaultKinds() };
    const dark = city.ofKind('streetlight').filter((l) => effects(sc).darkCircuits.has(l.circuit));
    expect(dark.length).toBeGreaterThan(0);
    for (const l of dark) expect(streetlightModel(l, at(23), c).powerState).toBe('off');
  });
});

describe("profile kinds: the generic model from the profile's simulate block", () => {
  const kinds = city.kinds;
  const points = city.ofKind('waterlogging') as ProfileNode[];
  const covers = city.ofKind('manhole') as ProfileNode[];
  const waterlogging = kinds.get('waterlogging')!.profile!;
  const manhole = kinds.get('manhole')!.profile!;
  /** A profile node's reading: common fields and the profile's, by name. */
  const read = (...args: Parameters<typeof generateReading>) => generateReading(...args) as ProfileReading;
  const readingOk = (kind: string, r: unknown) => expect(kinds.get(kind)!.reading.safeParse(r).success, JSON.stringify(r)).toBe(true);

  it("a healthy node reports its profile's normal values, drawn per node with a little wobble per reading", () => {
    const c = ctx();
    for (const p of points) {
      for (let m = 0; m < 24 * 60; m += 37) {
        const r = read(p, DAY0 + m * 60_000, c);
        readingOk('waterlogging', r);
        expect(r.depthM as number).toBeGreaterThanOrEqual(0);
        expect(r.depthM as number).toBeLessThanOrEqual(0.02);
        expect(r.rainMmPerH as number).toBeLessThanOrEqual(1);
      }
    }
    for (const cover of covers) {
      const r = read(cover, at(10), c);
      readingOk('manhole', r);
      expect(r.open).toBe(false);
      expect(r.tiltDeg as number).toBeLessThanOrEqual(2);
      expect(r.waterBelowM as number).toBeGreaterThanOrEqual(1.5);
      expect(r.waterBelowM as number).toBeLessThanOrEqual(3);
    }
    // Nodes differ from each other, one node's readings differ a little over time.
    const depths = new Set(points.map((p) => read(p, at(10), c).depthM));
    expect(depths.size).toBeGreaterThan(points.length / 2);
    const one = Array.from({ length: 20 }, (_, i) => profileModel(covers[0]!, manhole, at(10) + i * 900_000, c).waterBelowM as number);
    expect(Math.max(...one) - Math.min(...one)).toBeGreaterThan(0);
    expect(Math.max(...one) - Math.min(...one)).toBeLessThanOrEqual(0.15 + 1e-9); // 10 % of the 1.5 m range
    // Deterministic for a seed, different between seeds.
    expect(read(points[0]!, at(10), ctx(DAY0, 7))).toEqual(read(points[0]!, at(10), ctx(DAY0, 7)));
    expect(points.map((p) => read(p, at(10), ctx(DAY0, 1)).depthM)).not.toEqual(points.map((p) => read(p, at(10), ctx(DAY0, 2)).depthM));
  });

  it("rainstorm: a share of the points ramps linearly from normal to the scenario's depth over rampS", () => {
    const start = at(14);
    const sc = buildScenario('rainstorm', nodes, { seed: 7, start, kinds: defaultKinds() });
    const c: SimulationContext = { seed: 7, scenario: sc, kinds: defaultKinds() };
    const flooded = points.filter((p) => effects(sc).profileTargets.has(p.nodeId));
    expect(flooded.length).toBe(Math.round(points.length * 0.34));
    const rampMs = waterlogging.simulate.scenarios.rainstorm!.rampS * 1000;
    for (const p of flooded) {
      const before = read(p, start, c).depthM as number;
      const half = read(p, start + rampMs / 2, c).depthM as number;
      const full = read(p, start + rampMs, c);
      readingOk('waterlogging', full);
      expect(before).toBeLessThanOrEqual(0.02);
      expect(half).toBeGreaterThan(0.08);
      expect(half).toBeLessThan(0.24);
      expect(full.depthM as number).toBeGreaterThanOrEqual(0.18);
      expect(full.depthM as number).toBeLessThanOrEqual(0.45);
      expect(full.rainMmPerH as number).toBeGreaterThanOrEqual(40);
      // After the ramp it stays flooded (over the alert's 0.15 m) reading after reading.
      for (let m = 0; m < 60; m += 1) expect(read(p, start + rampMs + m * 60_000, c).depthM as number).toBeGreaterThan(0.15);
    }
    for (const p of points.filter((x) => !effects(sc).profileTargets.has(x.nodeId)))
      expect(read(p, start + rampMs, c).depthM as number).toBeLessThanOrEqual(0.02);
    expect(rampProgress(effects(sc).profileTargets.get(flooded[0]!.nodeId), start - 1, start)).toBe(0);
    expect(rampProgress(effects(sc).profileTargets.get(flooded[0]!.nodeId), start + rampMs / 4, start)).toBeCloseTo(0.25, 6);
  });

  it('cover-displaced: covers open at once (rampS 0) with a tilt of 20-45 degrees; their readings validate', () => {
    const sc = buildScenario('cover-displaced', nodes, { seed: 7, start: at(9), kinds: defaultKinds() });
    const c: SimulationContext = { seed: 7, scenario: sc, kinds: defaultKinds() };
    const displaced = covers.filter((x) => effects(sc).profileTargets.has(x.nodeId));
    expect(displaced.length).toBe(Math.max(1, Math.round(covers.length * 0.02)));
    for (const cover of displaced) {
      const r = read(cover, at(9), c);
      readingOk('manhole', r);
      expect(r.open).toBe(true);
      expect(r.tiltDeg as number).toBeGreaterThanOrEqual(20);
      expect(r.tiltDeg as number).toBeLessThanOrEqual(45);
    }
  });

  it('a field without a normal value is omitted unless required (then a value within its range); values switch at the end of a ramp', () => {
    const profile = parseProfile(
      `kind: tank
title: Tanks
expectedIntervalS: 60
fields:
  levelM: { type: number, min: 2, max: 9, required: true }
  pump: { type: enum, values: [idle, running, fault], required: true }
  alarm: { type: boolean }
  tempC: { type: number }
simulate:
  normal: { pump: idle }
  scenarios:
    pump-fault: { share: 1, rampS: 600, values: { pump: fault, levelM: [8, 9], alarm: true } }
`,
      'tank.yaml',
    );
    const catalog = kindCatalog([profile]);
    const tank: ProfileNode = { nodeId: 'TK-1', kind: 'tank', district: 'Lixia', lat: 36.6, lon: 117 };
    const normal = read(tank, at(1), { seed: 7, scenario: normalState(at(0)), kinds: catalog });
    expect(normal).toMatchObject({ levelM: 2, pump: 'idle' });
    expect(normal).not.toHaveProperty('alarm');
    expect(normal).not.toHaveProperty('tempC');
    expect(catalog.get('tank')!.reading.safeParse(normal).success).toBe(true);
    const sc = buildScenario('pump-fault', [tank], { seed: 7, start: at(0), kinds: catalog });
    const c: SimulationContext = { seed: 7, scenario: sc, kinds: catalog };
    const mid = read(tank, at(0) + 300_000, c);
    expect(mid.pump).toBe('idle');
    expect(mid.alarm).toBe(false);
    expect(mid.levelM as number).toBeGreaterThan(4.9);
    expect(mid.levelM as number).toBeLessThan(5.6);
    const end = read(tank, at(0) + 600_000, c);
    expect(end).toMatchObject({ pump: 'fault', alarm: true });
    expect(end.levelM as number).toBeGreaterThanOrEqual(8);
    expect(catalog.get('tank')!.reading.safeParse(end).success).toBe(true);
    // A kind the context's catalog does not know has no model.
    expect(() => read(tank, at(1), ctx())).toThrow(/no reading model for kind tank/);
  });
});
