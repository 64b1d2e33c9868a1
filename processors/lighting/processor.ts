import type { AlertCondition, NodeOf, ReadingRecord, RoadClass, StreetlightReading } from '../../core/index.js';
import { lampTimetable, restsAtHalfNight, type LampTimetable } from '../../core/index.js';
import { inWarmUp, isFresh } from '../freshness.js';
import type { EvalContext, KindPartial, KindProcessor } from '../types.js';
import { openFault } from './faults.js';
import { lampCondition, type LampCondition } from './lamp.js';

type Lamp = NodeOf<'streetlight'>;

/** Mergeable lighting counts of one partition. */
export interface LightingSection {
  /** `${district}|${roadClass}` -> lamps lit / expected / not yet known / resting (half-night, not expected). */
  groups: Record<string, { district: string; roadClass: RoadClass; lit: number; expected: number; unknown: number; resting?: number }>;
  /** Only circuits with a dark or unknown lamp here: the dark lamps and the unknown count. */
  circuits: Record<string, { district: string; road: string; dark: [nodeId: string, why: LampCondition][]; unknown: number }>;
  /** Only roads with a dark or unknown lamp here (while scheduled on): [dark, unknown]; the merger knows each road's lamps from the registry. */
  roads?: Record<string, [dark: number, unknown: number]>;
  /** District -> [facilities, intact] (no open fault), day and night. */
  intact?: Record<string, [facilities: number, intact: number]>;
  onInDaytime: number;
}

/** The switching timetable with half-night, from the configuration. */
export function scheduleFor(ctx: EvalContext): LampTimetable {
  const c = ctx.config;
  return lampTimetable(ctx.now, {
    lat: c.CITY_LAT,
    lon: c.CITY_LON,
    onOffsetMin: c.LIGHTING_ON_OFFSET_MIN,
    offOffsetMin: c.LIGHTING_OFF_OFFSET_MIN,
    halfNight: c.LIGHTING_HALF_NIGHT === 'on',
    summerStartMin: c.LIGHTING_HALF_NIGHT_SUMMER,
    winterStartMin: c.LIGHTING_HALF_NIGHT_WINTER,
  });
}

/** Street lamps: each lamp's latest report, judged lit or dark while the timetable says on. */
export class LightingProcessor implements KindProcessor<'streetlight', LightingSection> {
  readonly kind = 'streetlight' as const;
  readonly #latest = new Map<string, StreetlightReading>();

  apply(record: ReadingRecord<'streetlight'>): void {
    const prev = this.#latest.get(record.nodeId);
    // Newest event time wins; equal times keep the first (a replay changes nothing).
    if (!prev || record.reading.ts > prev.ts) this.#latest.set(record.nodeId, record.reading);
  }

  #condition(lamp: Lamp, ctx: EvalContext): LampCondition {
    const latest = this.#latest.get(lamp.nodeId);
    const interval = ctx.registry.expectedIntervalS(lamp);
    if (!latest && inWarmUp(ctx.since, interval, ctx.config.ONLINE_GRACE_FACTOR, ctx.now)) return 'unknown';
    const fresh = isFresh(latest?.ts, interval, ctx.config.ONLINE_GRACE_FACTOR, ctx.now);
    return lampCondition(latest, fresh, lamp.ratedW);
  }

  partial(lamps: readonly Lamp[], ctx: EvalContext): KindPartial<LightingSection> {
    const timetable = scheduleFor(ctx);
    const on = timetable.on;
    const section: LightingSection = { groups: {}, circuits: {}, roads: {}, intact: {}, onInDaytime: 0 };
    const conditions: AlertCondition[] = [];
    for (const lamp of lamps) {
      const state = this.#condition(lamp, ctx);
      const latest = this.#latest.get(lamp.nodeId);
      const facilities = (section.intact![lamp.district] ??= [0, 0]);
      facilities[0]++;
      if (openFault(latest, state) === null) facilities[1]++;
      if (!on) {
        if (latest && latest.powerState !== 'off' && state !== 'no-report') {
          section.onInDaytime++;
          conditions.push({
            alertname: 'StreetlightOnInDaytime',
            severity: 'minor',
            labels: { kind: 'streetlight', district: lamp.district, node: lamp.nodeId, circuit: lamp.circuit },
            summary: `lamp ${lamp.nodeId} on ${lamp.road} is on in daytime`,
          });
        }
        continue;
      }
      const key = `${lamp.district}|${lamp.roadClass}`;
      const g = (section.groups[key] ??= { district: lamp.district, roadClass: lamp.roadClass, lit: 0, expected: 0, unknown: 0, resting: 0 });
      if (timetable.halfNight && restsAtHalfNight(lamp.nodeId)) {
        // Switched off by the half-night timetable: not expected to be lit (lit is no error either).
        g.resting = (g.resting ?? 0) + 1;
        continue;
      }
      if (state === 'lit') {
        g.lit++;
        g.expected++;
        continue;
      }
      const c = (section.circuits[lamp.circuit] ??= { district: lamp.district, road: lamp.road, dark: [], unknown: 0 });
      const road = (section.roads![lamp.road] ??= [0, 0]);
      if (state === 'unknown') {
        // Not yet judged: left out of rates and alerts until the warm-up has passed.
        g.unknown++;
        c.unknown++;
        road[1]++;
      } else {
        g.expected++;
        c.dark.push([lamp.nodeId, state]);
        road[0]++;
      }
    }
    return { section, conditions };
  }

  exportNode(nodeId: string): unknown {
    return this.#latest.get(nodeId);
  }

  importNode(nodeId: string, state: unknown): void {
    if (state !== undefined && state !== null) this.#latest.set(nodeId, state as StreetlightReading);
  }

  describe(lamp: Lamp, ctx: EvalContext) {
    const latest = this.#latest.get(lamp.nodeId);
    const condition = this.#condition(lamp, ctx);
    const timetable = scheduleFor(ctx);
    return { latest, derived: { condition, fault: openFault(latest, condition), resting: timetable.halfNight && restsAtHalfNight(lamp.nodeId) } };
  }
}
