import { sunDay } from './city-time.js';

export interface ScheduleOptions {
  lat: number;
  lon: number;
  /** Minutes after sunset the lamps switch on (negative: before). */
  onOffsetMin: number;
  /** Minutes after sunrise the lamps switch off. */
  offOffsetMin: number;
}

export interface ScheduleState {
  on: boolean;
  /** Today's (local day of `ts`) switch-on and switch-off instants. */
  switchOn: number;
  switchOff: number;
}

/**
 * The annual timetable: lamps are scheduled on from sunset (+offset) to the next sunrise (+offset)
 * at the city's coordinates. A night crossing midnight is on both before sunrise of the new local
 * day and after sunset of the old one.
 */
export function lightingSchedule(ts: number, o: ScheduleOptions): ScheduleState {
  const { sunrise, sunset } = sunDay(ts, o.lat, o.lon);
  const switchOff = sunrise + o.offOffsetMin * 60_000;
  const switchOn = sunset + o.onOffsetMin * 60_000;
  return { on: ts < switchOff || ts >= switchOn, switchOn, switchOff };
}
