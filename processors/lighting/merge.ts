import type { AlertCondition, NodeRegistry, RoadClass } from '../../core/index.js';
import type { EvalContext, Evaluation, KindMerger } from '../types.js';
import { lightingRate, type RateCount } from './lamp.js';
import { scheduleFor, type LightingSection } from './processor.js';

function targetFor(roadClass: RoadClass, ctx: EvalContext): number {
  return roadClass === 'branch' || roadClass === 'alley' ? ctx.config.LIGHTING_TARGET_BRANCH : ctx.config.LIGHTING_TARGET_MAIN;
}

/** Lamps per circuit, from the registry (static, so partials need not carry it). */
const circuitSizes = new WeakMap<NodeRegistry, Map<string, number>>();
function circuitSize(registry: NodeRegistry, circuit: string): number {
  let sizes = circuitSizes.get(registry);
  if (!sizes) {
    sizes = new Map();
    for (const lamp of registry.ofKind('streetlight')) sizes.set(lamp.circuit, (sizes.get(lamp.circuit) ?? 0) + 1);
    circuitSizes.set(registry, sizes);
  }
  return sizes.get(circuit) ?? 0;
}

/**
 * Lighting rate per road class, district and city from the partitions' counts; one CircuitDark
 * for a circuit mostly dark (its lamps' StreetlightOut suppressed: crews fix the cabinet);
 * LightingRateBelowTarget per district and road class. Keeps the last night's rate for the day.
 */
export class LightingMerger implements KindMerger<LightingSection> {
  #lastNight: { rate: number | null; at: number } | null = null;

  merge(sections: LightingSection[], ctx: EvalContext): Evaluation {
    const schedule = scheduleFor(ctx);
    const conditions: AlertCondition[] = [];
    const groups = new Map<string, RateCount & { district: string; roadClass: RoadClass; unknown: number }>();
    const circuits = new Map<string, { district: string; road: string; dark: [string, string][]; unknown: number }>();
    let onInDaytime = 0;
    for (const s of sections) {
      onInDaytime += s.onInDaytime;
      for (const [key, g] of Object.entries(s.groups)) {
        const m = groups.get(key) ?? { district: g.district, roadClass: g.roadClass, lit: 0, expected: 0, unknown: 0 };
        m.lit += g.lit;
        m.expected += g.expected;
        m.unknown += g.unknown;
        groups.set(key, m);
      }
      for (const [id, c] of Object.entries(s.circuits)) {
        const m = circuits.get(id) ?? { district: c.district, road: c.road, dark: [], unknown: 0 };
        m.dark.push(...c.dark);
        m.unknown += c.unknown;
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
      for (const [map, key] of [[byClass, g.roadClass], [byDistrict, g.district]] as const) {
        const c = (map as Map<string, RateCount>).get(key) ?? { lit: 0, expected: 0 };
        c.lit += g.lit;
        c.expected += g.expected;
        (map as Map<string, RateCount>).set(key, c);
      }
    }

    let darkCircuits = 0;
    if (schedule.on) {
      for (const [circuit, c] of [...circuits].sort(([a], [b]) => a.localeCompare(b))) {
        if (c.dark.length === 0) continue;
        const known = circuitSize(ctx.registry, circuit) - c.unknown;
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
      this.#lastNight = { rate: lightingRate(city), at: ctx.now };
    }

    const classes = Object.fromEntries(
      [...byClass].sort(([a], [b]) => a.localeCompare(b)).map(([cls, c]) => {
        const rate = lightingRate(c);
        const target = targetFor(cls, ctx);
        return [cls, { rate, lit: c.lit, expected: c.expected, target, compliant: rate === null ? null : rate >= target }];
      }),
    );
    const districts = Object.fromEntries([...byDistrict].sort(([a], [b]) => a.localeCompare(b)).map(([d, c]) => [d, { rate: lightingRate(c), lit: c.lit, expected: c.expected }]));
    return {
      kpis: {
        lamps: ctx.registry.ofKind('streetlight').length,
        scheduledOn: schedule.on,
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
      },
      conditions,
    };
  }
}
