import { getTimes } from 'suncalc';

/**
 * The city keeps China Standard Time (Asia/Shanghai): UTC+8 all year, no daylight saving since 1991.
 * A fixed offset keeps period arithmetic exact and cheap on the hot path.
 */
export const CITY_TZ = 'Asia/Shanghai';
export const CITY_UTC_OFFSET_MS = 8 * 3_600_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** Local (Asia/Shanghai) hour of day 0..23 for an instant. */
export function localHour(ts: number): number {
  return Math.floor(((((ts + CITY_UTC_OFFSET_MS) % DAY) + DAY) % DAY) / HOUR);
}

/** Start (epoch ms) of the local calendar day containing ts. */
export function localDayStart(ts: number): number {
  return Math.floor((ts + CITY_UTC_OFFSET_MS) / DAY) * DAY - CITY_UTC_OFFSET_MS;
}

/** Start of the hour containing ts (hours align in UTC and local time: the offset is whole hours). */
export function hourStart(ts: number): number {
  return Math.floor(ts / HOUR) * HOUR;
}

export function minuteStart(ts: number): number {
  return Math.floor(ts / 60_000) * 60_000;
}

/** Local date as YYYY-MM-DD. */
export function localDate(ts: number): string {
  return new Date(localDayStart(ts) + CITY_UTC_OFFSET_MS).toISOString().slice(0, 10);
}

/** GB 3096-2008: day is 06:00-22:00 local, night 22:00-06:00. */
export function noisePeriod(ts: number): 'day' | 'night' {
  const h = localHour(ts);
  return h >= 6 && h < 22 ? 'day' : 'night';
}

export interface SunDay {
  sunrise: number;
  sunset: number;
}

const sunCache = new Map<string, SunDay>();

/** Sunrise and sunset (epoch ms) of the local day containing ts, at the given coordinates (cached per day). */
export function sunDay(ts: number, lat: number, lon: number): SunDay {
  const day = localDayStart(ts);
  const key = `${day}|${lat}|${lon}`;
  let cached = sunCache.get(key);
  if (!cached) {
    const t = getTimes(new Date(day + 12 * HOUR), lat, lon);
    if (!t.sunrise || !t.sunset) throw new Error(`no sunrise/sunset at ${lat},${lon} on ${localDate(ts)}`);
    if (sunCache.size > 10_000) sunCache.clear();
    sunCache.set(key, (cached = { sunrise: t.sunrise.getTime(), sunset: t.sunset.getTime() }));
  }
  return cached;
}
