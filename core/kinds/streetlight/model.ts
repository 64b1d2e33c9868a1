import type { NodeOf, StreetlightReading, SunDay } from '../../index.js';
import { lampTimetable, lightingSchedule, localDayStart, restsAtHalfNight, sunDay, type HalfNightOptions } from '../../time/index.js';
import { clamp, gauss, nodeHash, round, unit } from '../../../simulators/hash.js';
import { effectsOf, rssiOf, S, type ModelContext } from '../../../simulators/models/context.js';
import { HEALTHY_LAMPS } from './scenarios.js';

/** The city centre: the switching timetable is computed here (same default as CITY_LAT / CITY_LON). */
export const CITY_LAT = 36.65;
export const CITY_LON = 117.12;
const DAY = 86_400_000;
const HOUR = 3_600_000;

/** Sunrise/sunset of the local day containing t at the city centre. */
export function citySun(t: number): SunDay {
  return sunDay(t, CITY_LAT, CITY_LON);
}

/** The city's switching timetable (the one the processors judge by), without offsets. */
export function lampsScheduledOn(t: number): boolean {
  return lightingSchedule(t, { lat: CITY_LAT, lon: CITY_LON, onOffsetMin: 0, offOffsetMin: 0 }).on;
}

/** Night milliseconds in [from, to): cumulative switched-on time, exact per day (cached per day). */
const nightPerDay = new Map<number, number>();
function nightMsOfDay(dayStart: number): number {
  let v = nightPerDay.get(dayStart);
  if (v === undefined) {
    if (nightPerDay.size > 10_000) nightPerDay.clear();
    const s = citySun(dayStart + 12 * HOUR);
    v = s.sunrise - dayStart + (dayStart + DAY - s.sunset);
    nightPerDay.set(dayStart, v);
  }
  return v;
}
function nightMsUpTo(t: number): number {
  const day = localDayStart(t);
  const s = citySun(t);
  return Math.min(t, s.sunrise) - day + Math.max(0, t - s.sunset);
}
export function nightMsBetween(from: number, to: number): number {
  if (to <= from) return 0;
  const d0 = localDayStart(from);
  const d1 = localDayStart(to);
  if (d0 === d1) return nightMsUpTo(to) - nightMsUpTo(from);
  let total = nightMsOfDay(d0) - nightMsUpTo(from);
  for (let d = d0 + DAY; d < d1; d += DAY) total += nightMsOfDay(d);
  return total + nightMsUpTo(to);
}

/** The half-night timetable at its defaults (LIGHTING_HALF_NIGHT on, 23:30 summer / 22:30 winter). */
const HALF_NIGHT: HalfNightOptions = {
  lat: CITY_LAT,
  lon: CITY_LON,
  onOffsetMin: 0,
  offOffsetMin: 0,
  halfNight: true,
  summerStartMin: 23 * 60 + 30,
  winterStartMin: 22 * 60 + 30,
};

/** Whether this lamp is switched off by the half-night timetable at t (every other lamp, late at night). */
export function lampResting(node: NodeOf<'streetlight'>, t: number): boolean {
  return restsAtHalfNight(node.nodeId) && lampTimetable(t, HALF_NIGHT).halfNight;
}

/** Half-night intervals inside one local day (the end of the last night, the start of the next), cached per day. */
const halfPerDay = new Map<number, [number, number][]>();
function halfNightOfDay(dayStart: number): [number, number][] {
  let v = halfPerDay.get(dayStart);
  if (v === undefined) {
    if (halfPerDay.size > 10_000) halfPerDay.clear();
    v = [];
    const { sunrise, sunset } = citySun(dayStart + 12 * HOUR);
    const morning = lampTimetable(dayStart, HALF_NIGHT).halfNightFrom;
    if (morning !== null && morning < sunrise) v.push([Math.max(dayStart, morning), sunrise]);
    const evening = lampTimetable(dayStart + DAY - 1, HALF_NIGHT).halfNightFrom;
    if (evening !== null && evening < dayStart + DAY) v.push([Math.max(evening, sunset), dayStart + DAY]);
    halfPerDay.set(dayStart, v);
  }
  return v;
}
/** Half-night milliseconds in [from, to): the time a resting lamp is off inside the night. */
export function halfNightMsBetween(from: number, to: number): number {
  let total = 0;
  for (let d = localDayStart(from); d < to; d += DAY) {
    for (const [a, b] of halfNightOfDay(d)) total += Math.max(0, Math.min(b, to) - Math.max(a, from));
  }
  return total;
}

export type LampFault = 'lamp-failure' | 'low-power' | 'relay-stuck';

/**
 * A small share of lamps is faulty, deterministically per node and seed: 45 % never light
 * (`lamp-failure`), 45 % draw under 80 % of rated power (`low-power`), 10 % stay on in daytime
 * (`relay-stuck`).
 */
export function lampFault(node: NodeOf<'streetlight'>, ctx: ModelContext): LampFault | undefined {
  const h = nodeHash(node.nodeId, ctx.seed);
  if (unit(h, S.FAULT) >= effectsOf(ctx, 'streetlight', HEALTHY_LAMPS).faultyLampShare) return undefined;
  const f = unit(h, S.FAULT_TYPE);
  return f < 0.45 ? 'lamp-failure' : f < 0.9 ? 'low-power' : 'relay-stuck';
}

/** One single-lamp controller reading at simulated time t (epoch ms). */
export function streetlightModel(node: NodeOf<'streetlight'>, t: number, ctx: ModelContext): StreetlightReading {
  const h = nodeHash(node.nodeId, ctx.seed);
  const sec = Math.floor(t / 1000);
  const rssi = rssiOf(h, sec);
  const start = ctx.scenario.start;
  const baseWh = node.ratedW * (2000 + 8000 * unit(h, S.ENERGY));
  const scheduled = lampsScheduledOn(t);

  if (effectsOf(ctx, 'streetlight', HEALTHY_LAMPS).darkCircuits.has(node.circuit)) {
    // Breaker trip or cable theft: no supply, the controller reports on its backup cell.
    return {
      ts: t,
      powerState: 'off',
      dim: 0,
      powerW: 0,
      voltageV: 0,
      currentA: 0,
      energyWh: round(baseWh, 1),
      faults: ['supply-lost'],
      rssi,
    };
  }

  const fault = lampFault(node, ctx);
  const factor = fault === 'low-power' ? 0.5 + 0.2 * unit(h, S.LOW_POWER) : fault === 'lamp-failure' ? 0 : 1;
  // Every other lamp rests late at night (half-night mode): off, and not a fault.
  const rests = restsAtHalfNight(node.nodeId);
  const resting = rests && scheduled && lampTimetable(t, HALF_NIGHT).halfNight;
  const to = Math.max(start, t);
  const onMs = fault === 'relay-stuck' ? Math.max(0, t - start) : nightMsBetween(start, to) - (rests ? halfNightMsBetween(start, to) : 0);
  const energyWh = round(baseWh + (node.ratedW * factor * onMs) / HOUR, 1);
  const voltageV = round(clamp(220 + (unit(h, S.VOLT_BASE) - 0.5) * 4 + gauss(h, S.VOLT, sec) * 1.2, 215, 225), 1);
  const lit = fault === 'relay-stuck' || (scheduled && !resting && fault !== 'lamp-failure');

  if (!lit) {
    const faults = scheduled && !resting && fault === 'lamp-failure' ? ['lamp-failure'] : [];
    return { ts: t, powerState: 'off', dim: scheduled && !resting ? 100 : 0, powerW: 0, voltageV, currentA: 0, energyWh, faults, rssi };
  }
  const dim = 100;
  const powerW = round(((node.ratedW * dim) / 100) * factor * (1 + clamp(gauss(h, S.POWER, sec) * 0.012, -0.035, 0.035)), 1);
  const pf = round(clamp(0.95 + gauss(h, S.PF, sec) * 0.008, 0.92, 0.98), 3);
  const currentA = round(powerW / (voltageV * pf), 3);
  const faults = fault === 'low-power' ? ['low-power'] : fault === 'relay-stuck' && !scheduled ? ['relay-stuck'] : [];
  return { ts: t, powerState: 'on', dim, powerW, voltageV, currentA, pf, energyWh, faults, rssi };
}
