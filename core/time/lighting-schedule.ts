import { localDayStart, sunDay } from './city-time.js';

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

/** Half-night mode: late at night every other lamp is switched off until the morning switch-off. */
export interface HalfNightOptions extends ScheduleOptions {
  halfNight: boolean;
  /** Local clock time (minutes after midnight) half-night starts in summer (April-September) and in winter. */
  summerStartMin: number;
  winterStartMin: number;
}

const DAY_MS = 86_400_000;

/** Summer timetable from April to September (local months of the evening the night began). */
function isSummer(eveningDayStart: number): boolean {
  const month = new Date(eveningDayStart + 8 * 3_600_000 + 12 * 3_600_000).getUTCMonth() + 1;
  return month >= 4 && month <= 9;
}

/**
 * When half-night starts in the night that contains ts (lamps scheduled on), or null when ts is
 * outside a scheduled night or half-night mode is off. The night belongs to the evening it began:
 * at 00:30 the start was yesterday's 23:30 (or today's 00:15 if configured after midnight).
 */
export function halfNightStart(ts: number, o: HalfNightOptions): number | null {
  if (!o.halfNight) return null;
  const today = lightingSchedule(ts, o);
  if (!today.on) return null;
  const dayStart = localDayStart(ts);
  const evening = ts >= today.switchOn ? dayStart : dayStart - DAY_MS;
  const startMin = isSummer(evening) ? o.summerStartMin : o.winterStartMin;
  // A start before noon means after midnight, in the next local day.
  return evening + startMin * 60_000 + (startMin < 12 * 60 ? DAY_MS : 0);
}

export interface LampTimetable extends ScheduleState {
  /** Half-night is active now: the lamps chosen by `restsAtHalfNight` are switched off. */
  halfNight: boolean;
  /** When half-night starts (or started) in the current night; null outside a night or when the mode is off. */
  halfNightFrom: number | null;
}

/** The schedule plus half-night, for processors and the simulator alike. */
export function lampTimetable(ts: number, o: HalfNightOptions): LampTimetable {
  const s = lightingSchedule(ts, o);
  const from = halfNightStart(ts, o);
  return { ...s, halfNight: from !== null && ts >= from, halfNightFrom: from };
}

/**
 * Which lamps rest in half-night mode: every other position along a road, by the lamp's number
 * (the trailing digits of its id: generated lamps are numbered consecutively along each circuit);
 * even numbers rest. Ids without digits fall back to a stable hash of the id.
 */
export function restsAtHalfNight(nodeId: string): boolean {
  const digits = /(\d+)\D*$/.exec(nodeId);
  if (digits) return Number(digits[1]!.slice(-6)) % 2 === 0;
  let h = 0;
  for (let i = 0; i < nodeId.length; i++) h = (h * 31 + nodeId.charCodeAt(i)) | 0;
  return (h & 1) === 0;
}

/** Parses "HH:MM" (local clock) into minutes after midnight. */
export function parseClockTime(text: string): number {
  const m = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(text.trim());
  if (!m) throw new Error(`expected HH:MM, got ${JSON.stringify(text)}`);
  return Number(m[1]) * 60 + Number(m[2]);
}
