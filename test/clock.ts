import { CITY_UTC_OFFSET_MS, lightingSchedule, localDayStart } from '../core/time/index.js';

/**
 * The tests' clock. Readings in tests are stamped in simulated time, never with the hour at which
 * the suite happens to run, so a run at 04:00 and a run at noon test the same thing.
 *
 * `CITY_BRAIN_TEST_TIME=HH:MM` (city local time, Asia/Shanghai) sets the simulated start, or
 * `dusk-N` / `dusk+N`: N minutes before / after that day's lamp switch-on at the default city
 * coordinates; unset, it is 22:30 (lamps scheduled on, a GB 3096 night hour). The start is the
 * latest such instant at least `LEAD_MS` before the wall clock, so whatever a test publishes after
 * it (a simulated run of a few hours at most) is still in the past for the broker, Kafka and
 * InfluxDB. Run the suite at several times of day with e.g. `CITY_BRAIN_TEST_TIME=23:59 npm test`.
 */
export const TEST_TIME_ENV = 'CITY_BRAIN_TEST_TIME';
export const DEFAULT_TEST_TIME = '22:30';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** How far before the wall clock the simulated start lies at least. */
const LEAD_MS = 3 * HOUR;

/** When, on the local day starting at `dayStart`, the simulated start lies. */
type TimeOfDay = (dayStart: number) => number;

/** Parses `HH:MM` or `dusk±N`; throws naming the variable. */
export function parseLocalTime(text: string): TimeOfDay {
  const clock = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text.trim());
  if (clock) return (dayStart) => dayStart + Number(clock[1]) * HOUR + Number(clock[2]) * 60_000;
  const dusk = /^dusk([+-]\d{1,3})?$/.exec(text.trim());
  if (dusk) {
    const offset = Number(dusk[1] ?? 0) * 60_000;
    return (dayStart) =>
      lightingSchedule(dayStart + 12 * HOUR, { lat: 36.65, lon: 117.12, onOffsetMin: 0, offOffsetMin: 0 }).switchOn + offset;
  }
  throw new Error(
    `${TEST_TIME_ENV}=${JSON.stringify(text)} is neither a local time HH:MM (00:00-23:59) nor dusk-N / dusk+N (minutes), e.g. ${TEST_TIME_ENV}=09:00`,
  );
}

/** The latest instant at `timeOfDay` that is at least LEAD_MS before `wall`. */
export function latestLocalTime(timeOfDay: TimeOfDay, wall: number): number {
  let day = localDayStart(wall - LEAD_MS) + DAY;
  while (timeOfDay(day) > wall - LEAD_MS) day -= DAY;
  return timeOfDay(day);
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
