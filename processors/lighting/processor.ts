import { lightingSchedule, type AlertCondition, type NodeOf, type ReadingRecord, type RoadClass, type StreetlightReading } from '../../core/index.js';
import { inWarmUp, isFresh } from '../freshness.js';
import type { EvalContext, Evaluation, KindProcessor } from '../types.js';
import { lampCondition, lightingRate, type LampCondition, type RateCount } from './lamp.js';

type Lamp = NodeOf<'streetlight'>;

function targetFor(roadClass: RoadClass, ctx: EvalContext): number {
  return roadClass === 'branch' || roadClass === 'alley' ? ctx.config.LIGHTING_TARGET_BRANCH : ctx.config.LIGHTING_TARGET_MAIN;
}

const count = (): RateCount => ({ lit: 0, expected: 0 });
function bump<K>(map: Map<K, RateCount>, key: K, lit: boolean): void {
  let c = map.get(key);
  if (!c) map.set(key, (c = count()));
  c.expected++;
  if (lit) c.lit++;
}

/**
 * Street lighting: the lighting rate (lamps lit / lamps that should be lit) per road class,
 * district and city, evaluated only while the schedule says lamps are on; dark circuits as one
 * alert; lamps on in daylight.
 */
export class LightingProcessor implements KindProcessor<'streetlight'> {
  readonly kind = 'streetlight' as const;
  readonly #latest = new Map<string, StreetlightReading>();
  /** The last rate computed while lamps were scheduled on, shown through the day. */
  #lastNight: { rate: number | null; at: number } | null = null;

  apply(record: ReadingRecord<'streetlight'>): void {
    const prev = this.#latest.get(record.nodeId);
    if (!prev || record.reading.ts >= prev.ts) this.#latest.set(record.nodeId, record.reading);
  }

  #condition(lamp: Lamp, ctx: EvalContext): LampCondition {
    const latest = this.#latest.get(lamp.nodeId);
    const interval = ctx.registry.expectedIntervalS(lamp);
    if (!latest && inWarmUp(ctx.since, interval, ctx.config.ONLINE_GRACE_FACTOR, ctx.now)) return 'unknown';
    const fresh = isFresh(latest?.ts, interval, ctx.config.ONLINE_GRACE_FACTOR, ctx.now);
    return lampCondition(latest, fresh, lamp.ratedW);
  }

  evaluate(ctx: EvalContext): Evaluation {
    const { config } = ctx;
    const schedule = lightingSchedule(ctx.now, { lat: config.CITY_LAT, lon: config.CITY_LON, onOffsetMin: config.LIGHTING_ON_OFFSET_MIN, offOffsetMin: config.LIGHTING_OFF_OFFSET_MIN });
    const lamps = ctx.registry.ofKind('streetlight');
    const conditions: AlertCondition[] = [];
    const city = count();
    const byClass = new Map<RoadClass, RateCount>();
    const byDistrict = new Map<string, RateCount>();
    const byDistrictClass = new Map<string, RateCount & { district: string; roadClass: RoadClass }>();
    const circuits = new Map<string, { lamps: Lamp[]; dark: Lamp[] }>();
    let onInDaytime = 0;
    let unknown = 0;

    for (const lamp of lamps) {
      const state = this.#condition(lamp, ctx);
      const lit = state === 'lit';
      if (!schedule.on) {
        const latest = this.#latest.get(lamp.nodeId);
        if (latest && latest.powerState !== 'off' && state !== 'no-report') {
          onInDaytime++;
          conditions.push({
            alertname: 'StreetlightOnInDaytime',
            severity: 'minor',
            labels: { kind: 'streetlight', district: lamp.district, node: lamp.nodeId, circuit: lamp.circuit },
            summary: `lamp ${lamp.nodeId} on ${lamp.road} is on in daytime`,
          });
        }
        continue;
      }
      if (state === 'unknown') {
        // Not yet judged: left out of rates and alerts until the warm-up has passed.
        unknown++;
        continue;
      }
      city.expected++;
      if (lit) city.lit++;
      bump(byClass, lamp.roadClass, lit);
      bump(byDistrict, lamp.district, lit);
      const dcKey = `${lamp.district}\u0000${lamp.roadClass}`;
      if (!byDistrictClass.has(dcKey)) byDistrictClass.set(dcKey, { ...count(), district: lamp.district, roadClass: lamp.roadClass });
      const dc = byDistrictClass.get(dcKey)!;
      dc.expected++;
      if (lit) dc.lit++;
      let circuit = circuits.get(lamp.circuit);
      if (!circuit) circuits.set(lamp.circuit, (circuit = { lamps: [], dark: [] }));
      circuit.lamps.push(lamp);
      if (!lit) circuit.dark.push(lamp);
    }

    let darkCircuits = 0;
    if (schedule.on) {
      for (const [circuit, c] of circuits) {
        if (c.dark.length === 0) continue;
        const first = c.lamps[0]!;
        if (c.lamps.length >= 3 && c.dark.length > c.lamps.length * config.CIRCUIT_DARK_RATIO) {
          // One alert for the circuit; its lamps' own alerts are suppressed (crews fix the cabinet).
          darkCircuits++;
          conditions.push({
            alertname: 'CircuitDark',
            severity: 'major',
            labels: { kind: 'streetlight', district: first.district, circuit },
            summary: `${c.dark.length} of ${c.lamps.length} lamps of circuit ${circuit} on ${first.road} are dark`,
            value: c.dark.length,
          });
          continue;
        }
        for (const lamp of c.dark) {
          conditions.push({
            alertname: 'StreetlightOut',
            severity: 'minor',
            labels: { kind: 'streetlight', district: lamp.district, node: lamp.nodeId, circuit },
            summary: `lamp ${lamp.nodeId} on ${lamp.road} is dark (${this.#condition(lamp, ctx)})`,
          });
        }
      }
      for (const dc of byDistrictClass.values()) {
        const rate = lightingRate(dc)!;
        const target = targetFor(dc.roadClass, ctx);
        if (rate < target) {
          conditions.push({
            alertname: 'LightingRateBelowTarget',
            severity: 'major',
            labels: { kind: 'streetlight', district: dc.district, roadClass: dc.roadClass },
            summary: `lighting rate of ${dc.roadClass} roads in ${dc.district} is ${(rate * 100).toFixed(1)} % (target ${(target * 100).toFixed(0)} %)`,
            value: rate,
          });
        }
      }
      this.#lastNight = { rate: lightingRate(city), at: ctx.now };
    }

    const classes = Object.fromEntries(
      [...byClass].map(([cls, c]) => {
        const rate = lightingRate(c);
        const target = targetFor(cls, ctx);
        return [cls, { rate, lit: c.lit, expected: c.expected, target, compliant: rate === null ? null : rate >= target }];
      }),
    );
    const districts = Object.fromEntries([...byDistrict].map(([d, c]) => [d, { rate: lightingRate(c), lit: c.lit, expected: c.expected }]));
    return {
      kpis: {
        lamps: lamps.length,
        scheduledOn: schedule.on,
        switchOn: schedule.switchOn,
        switchOff: schedule.switchOff,
        rate: schedule.on ? lightingRate(city) : (this.#lastNight?.rate ?? null),
        rateAt: schedule.on ? ctx.now : (this.#lastNight?.at ?? null),
        lit: city.lit,
        expected: city.expected,
        byRoadClass: classes,
        byDistrict: districts,
        darkCircuits,
        onInDaytime,
        unknown,
      },
      conditions,
    };
  }

  describe(lamp: Lamp, ctx: EvalContext) {
    const latest = this.#latest.get(lamp.nodeId);
    return { latest, derived: { condition: this.#condition(lamp, ctx) } };
  }
}
