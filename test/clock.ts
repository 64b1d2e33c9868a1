import { CITY_UTC_OFFSET_MS, localDayStart } from '../core/time/index.js';

/**
 * The tests' clock. Readings in tests are stamped in simulated time, never with the hour at which
 * the suite happens to run, so a run at 04:00 and a run at noon test the same thing.
 *
 * `CITY_BRAIN_TEST_TIME=HH:MM` (city local time, Asia/Shanghai) sets the simulated start; unset, it
 * is 22:30 (lamps scheduled on, a GB 3096 night hour). The start is the latest instant with that
 * local time at least `LEAD_MS` before the wall clock, so whatever a test publishes after it (a
 * simulated run of a few hours at most) is still in the past for the broker, Kafka and InfluxDB.
 * Run the suite at several times of day with e.g. `CITY_BRAIN_TEST_TIME=23:59 npm test`.
 */
export const TEST_TIME_ENV = 'CITY_BRAIN_TEST_TIME';
export const DEFAULT_TEST_TIME = '22:30';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** How far before the wall clock the simulated start lies at least. */
const LEAD_MS = 3 * HOUR;

/** Parses `HH:MM` into milliseconds after local midnight; throws naming the variable. */
export function parseLocalTime(text: string): number {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text.trim());
  if (!m) throw new Error(`${TEST_TIME_ENV}=${JSON.stringify(text)} is not a local time HH:MM (00:00-23:59), e.g. ${TEST_TIME_ENV}=09:00`);
  return Number(m[1]) * HOUR + Number(m[2]) * 60_000;
}

/** The latest instant at local time `timeOfDay` (ms after midnight) that is at least LEAD_MS before `wall`. */
export function latestLocalTime(timeOfDay: number, wall: number): number {
  let t = localDayStart(wall - LEAD_MS) + timeOfDay;
  if (t > wall - LEAD_MS) t -= DAY;
  return t;
}

const wallAtLoad = Date.now();
/** The simulated start of this test file: fixed once per file (vitest loads each file on its own). */
export const TEST_START = latestLocalTime(parseLocalTime(process.env[TEST_TIME_ENV] ?? DEFAULT_TEST_TIME), wallAtLoad);

/** Simulated now: the simulated start plus the wall time since the file was loaded. Inject it as the pipeline's clock. */
export function testNow(): number {
  return TEST_START + (Date.now() - wallAtLoad);
}

/** `HH:MM` of an instant in city local time (for messages). */
export function localClock(ts: number): string {
  return new Date(ts + CITY_UTC_OFFSET_MS).toISOString().slice(11, 16);
}
