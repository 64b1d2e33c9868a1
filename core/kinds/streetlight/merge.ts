import type { AlertCondition, NodeRegistry, RoadClass } from '../../index.js';
import { appendAll, type EvalContext, type Evaluation, type KindMerger } from '../../../processors/types.js';
import { lightingRate, type RateCount } from './lamp.js';
import { scheduleFor, type LightingSection } from './processor.js';
import { judgeRoad } from './roads.js';
import { activeLamps, addCounts, lampIndex } from './sizes.js';
import type { LightingKpis } from './kpis.js';

function targetFor(roadClass: RoadClass, ctx: EvalContext): number {
  return roadClass === 'branch' || roadClass === 'alley' ? ctx.config.LIGHTING_TARGET_BRANCH : ctx.config.LIGHTING_TARGET_MAIN;
}

export interface Installation {
  designed: number;
  installed: number;
  rate: number | null;
}

/** Installation rate = installed / designed lamp positions, per road class, district and city (static: from the registry). */
function installation(registry: NodeRegistry) {
  const city: Installation = { designed: 0, installed: 0, rate: null };
  const byDistrict: Record<string, Installation> = {};
  const byRoadClass: Record<string, Installation> = {};
  for (const r of registry.roads()) {
    for (const agg of [
      city,
      (byDistrict[r.district] ??= { designed: 0, installed: 0, rate: null }),
      (byRoadClass[r.roadClass] ??= { designed: 0, installed: 0, rate: null }),
    ]) {
      agg.designed += r.designedPositions;
      agg.installed += r.installed;
    }
  }
  for (const agg of [city, ...Object.values(byDistrict), ...Object.values(byRoadClass)])
    agg.rate = agg.designed === 0 ? null : agg.installed / agg.designed;
  return { installation: city, installationByDistrict: sorted(byDistrict), installationByRoadClass: sorted(byRoadClass) };
}

function sorted<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

/** At most this many non-compliant roads are listed (worst first); the counts cover all. */
const MAX_LISTED_ROADS = 200;

export interface RoadCompliance {
  total: number;
  compliant: number;
  nonCompliant: { road: string; district: string; roadClass: RoadClass; lamps: number; dark: number; rate: number; rule: string }[];
  /** When these were judged (the last time lamps were scheduled on). */
  at: number | null;
}

/**
 * Lighting rate per road class, district and city from the partitions' counts; one CircuitDark
 * for a circuit mostly dark (its lamps' StreetlightOut suppressed: crews fix the cabinet);
 * LightingRateBelowTarget per district and road class. Keeps the last night's rate for the day.
 */
export class LightingMerger implements KindMerger<LightingSection> {
  #lastNight: { rate: number | null; at: number } | null = null;
  #lastRoads: RoadCompliance = { total: 0, compliant: 0, nonCompliant: [], at: null };

  merge(sections: LightingSection[], ctx: EvalContext): Evaluation {
    const schedule = scheduleFor(ctx);
    const conditions: AlertCondition[] = [];
    const groups = new Map<string, RateCount & { district: string; roadClass: RoadClass; unknown: number }>();
    const circuits = new Map<string, { district: string; road: string; dark: [string, string][] }>();
    const darkOnRoads = new Map<string, number>();
    const circuitsUnknown: number[] = [];
    const roadsUnknown: number[] = [];
    const intact = new Map<string, [number, number]>();
    let onInDaytime = 0;
    let resting = 0;
    for (const s of sections) {
      onInDaytime += s.onInDaytime;
      for (const [key, g] of Object.entries(s.groups)) {
        const m = groups.get(key) ?? { district: g.district, roadClass: g.roadClass, lit: 0, expected: 0, unknown: 0 };
        m.lit += g.lit;
        m.expected += g.expected;
        m.unknown += g.unknown;
        resting += g.resting ?? 0;
        groups.set(key, m);
      }
      for (const [road, dark] of Object.entries(s.roads ?? {})) darkOnRoads.set(road, (darkOnRoads.get(road) ?? 0) + dark);
      addCounts(circuitsUnknown, s.circuitsUnknown);
      addCounts(roadsUnknown, s.roadsUnknown);
      for (const [district, [facilities, ok]] of Object.entries(s.intact ?? {})) {
        const m = intact.get(district) ?? [0, 0];
        m[0] += facilities;
        m[1] += ok;
        intact.set(district, m);
      }
      for (const [id, c] of Object.entries(s.circuits)) {
        const m = circuits.get(id) ?? { district: c.district, road: c.road, dark: [] };
        appendAll(m.dark, c.dark);
        circuits.set(id, m);
      }
    }

    const city = { lit: 0, expected: 0 };
    let unknown = 0;
    const byClass = new Map<RoadClass, RateCount>();
    const byDistrict = new Map<string, RateCount>();
    for (const g of groups.values()) {
      city.lit += g.lit;
      city.expected += g.expected;
      unknown += g.unknown;
      for (const [map, key] of [
        [byClass, g.roadClass],
        [byDistrict, g.district],
      ] as const) {
        const c = (map as Map<string, RateCount>).get(key) ?? { lit: 0, expected: 0 };
        c.lit += g.lit;
        c.expected += g.expected;
        (map as Map<string, RateCount>).set(key, c);
      }
    }

    let darkCircuits = 0;
    if (schedule.on) {
      const index = lampIndex(ctx.registry);
      for (const [circuit, c] of [...circuits].sort(([a], [b]) => a.localeCompare(b))) {
        if (c.dark.length === 0) continue;
        const known = activeLamps(index.circuits, circuit, schedule.halfNight) - (circuitsUnknown[index.circuitAt.get(circuit) ?? -1] ?? 0);
        if (known >= 3 && c.dark.length > known * ctx.config.CIRCUIT_DARK_RATIO) {
          darkCircuits++;
          conditions.push({
            alertname: 'CircuitDark',
            severity: 'major',
            labels: { kind: 'streetlight', district: c.district, circuit },
            summary: `${c.dark.length} of ${known} lamps of circuit ${circuit} on ${c.road} are dark`,
            value: c.dark.length,
          });
          continue;
        }
        for (const [node, why] of c.dark) {
          conditions.push({
            alertname: 'StreetlightOut',
            severity: 'minor',
            labels: { kind: 'streetlight', district: c.district, node, circuit },
            summary: `lamp ${node} on ${c.road} is dark (${why})`,
          });
        }
      }
      for (const g of groups.values()) {
        const rate = lightingRate(g);
        const target = targetFor(g.roadClass, ctx);
        if (rate !== null && rate < target) {
          conditions.push({
            alertname: 'LightingRateBelowTarget',
            severity: 'major',
            labels: { kind: 'streetlight', district: g.district, roadClass: g.roadClass },
            summary: `lighting rate of ${g.roadClass} roads in ${g.district} is ${(rate * 100).toFixed(1)} % (target ${(target * 100).toFixed(0)} %)`,
            value: rate,
          });
        }
      }
      // Remembered for the day only from a night that had data: an evaluation before any partial
      // arrived knows nothing (it would find every road compliant, with no lamp heard from).
      if (sections.length > 0) {
        this.#lastNight = { rate: lightingRate(city), at: ctx.now };
        this.#lastRoads = this.#judgeRoads(darkOnRoads, roadsUnknown, schedule.halfNight, ctx);
      }
    }

    const classes = Object.fromEntries(
      [...byClass]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([cls, c]) => {
          const rate = lightingRate(c);
          const target = targetFor(cls, ctx);
          return [cls, { rate, lit: c.lit, expected: c.expected, target, compliant: rate === null ? null : rate >= target }];
        }),
    );
    const districts = Object.fromEntries(
      [...byDistrict]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([d, c]) => [d, { rate: lightingRate(c), lit: c.lit, expected: c.expected }]),
    );
    const intactCity = { facilities: 0, intact: 0, rate: null as number | null };
    const intactByDistrict: Record<string, typeof intactCity> = {};
    for (const [district, [facilities, ok]] of [...intact].sort(([a], [b]) => a.localeCompare(b))) {
      intactByDistrict[district] = { facilities, intact: ok, rate: facilities === 0 ? null : ok / facilities };
      intactCity.facilities += facilities;
      intactCity.intact += ok;
    }
    intactCity.rate = intactCity.facilities === 0 ? null : intactCity.intact / intactCity.facilities;
    return {
      kpis: {
        lamps: ctx.registry.ofKind('streetlight').length,
        scheduledOn: schedule.on,
        halfNight: schedule.halfNight,
        halfNightFrom: schedule.halfNightFrom,
        resting,
        switchOn: schedule.switchOn,
        switchOff: schedule.switchOff,
        rate: schedule.on ? lightingRate(city) : (this.#lastNight?.rate ?? null),
        rateAt: schedule.on ? ctx.now : (this.#lastNight?.at ?? null),
        lit: city.lit,
        expected: city.expected,
        unknown,
        byRoadClass: classes,
        byDistrict: districts,
        darkCircuits,
        onInDaytime,
        ...installation(ctx.registry),
        intact: intactCity,
        intactByDistrict,
        roads: this.#lastRoads,
      } satisfies LightingKpis,
      conditions,
    };
  }

  /**
   * Every road with lamps that should be lit now, judged by the per-road rule; the worst
   * non-compliant listed. `darkOnRoads`: road -> dark lamps, `roadsUnknown`: unknown lamps per
   * road position, summed over the partitions.
   */
  #judgeRoads(darkOnRoads: Map<string, number>, roadsUnknown: number[], halfNight: boolean, ctx: EvalContext): RoadCompliance {
    const info = new Map(ctx.registry.roads().map((r) => [r.road, r]));
    const { roads: sizes, roadIds } = lampIndex(ctx.registry);
    let total = 0;
    let compliant = 0;
    const nonCompliant: RoadCompliance['nonCompliant'] = [];
    for (let i = 0; i < roadIds.length; i++) {
      const road = roadIds[i]!;
      const dark = darkOnRoads.get(road) ?? 0;
      const lamps = activeLamps(sizes, road, halfNight) - (roadsUnknown[i] ?? 0);
      if (lamps <= 0) continue; // all of its lamps unknown yet: not judged
      const r = info.get(road);
      const roadClass = r?.roadClass ?? 'main';
      const verdict = judgeRoad(roadClass, lamps, dark, ctx.config);
      total++;
      if (verdict.compliant) compliant++;
      else
        nonCompliant.push({ road, district: r?.district ?? '', roadClass, lamps, dark, rate: (lamps - dark) / lamps, rule: verdict.rule });
    }
    nonCompliant.sort((a, b) => a.rate - b.rate || b.dark - a.dark || a.road.localeCompare(b.road));
    return { total, compliant, nonCompliant: nonCompliant.slice(0, MAX_LISTED_ROADS), at: ctx.now };
  }
}
