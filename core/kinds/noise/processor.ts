import {
  hourStart,
  localDate,
  localDayStart,
  minuteStart,
  noisePeriod,
  type AlertCondition,
  type NodeOf,
  type NoiseReading,
  type ReadingRecord,
} from '../../index.js';
import type { EvalContext, KindPartial, KindProcessor } from '../../../processors/types.js';
import { energyAverage, NIGHT_PEAK_ALLOWANCE_DB, ZONE_LIMITS } from './leq.js';

type Station = NodeOf<'noise'>;
const HOUR = 3_600_000;
const KEEP_MS = 26 * HOUR;

interface Minute {
  laeq: number;
  lamax?: number;
  periodS: number;
}

/** Energy sums of one GB 3096 period of one noise day: sum(t * 10^(L/10)), sum(t) in seconds, valid minutes. */
type PeriodSums = [energy: number, seconds: number, minutes: number];
/** One noise day (06:00 D to 06:00 D+1 local): the day period 06-22 and the night 22-06 that follows it. */
interface DaySums {
  day: PeriodSums;
  night: PeriodSums;
}

interface StationState {
  /** One value per minute start: a replayed minute overwrites, so nothing is counted twice. */
  minutes: Map<number, Minute>;
  /** Per noise day start: running sums, updated as minutes are set or overwritten (kept KEEP_DAYS). */
  days: Map<number, DaySums>;
  latest: NoiseReading;
}

/** Ld and Ln of one noise day with their valid-data rates; null levels = no data, null exceedance = incomplete. */
export interface DayResult {
  /** Local date D of the day 06:00 D -> 06:00 D+1. */
  date: string;
  ld: number | null;
  ldValidRate: number;
  ldComplete: boolean;
  ldExceeds: boolean | null;
  ln: number | null;
  lnValidRate: number;
  lnComplete: boolean;
  lnExceeds: boolean | null;
}

const DAY_PERIOD_MINUTES = 16 * 60;
const NIGHT_PERIOD_MINUTES = 8 * 60;
const KEEP_DAYS = 3;

/** Start (epoch ms) of the noise day containing ts: 06:00 local; 00:00-06:00 belongs to the day before. */
export function noiseDayStart(ts: number): number {
  return localDayStart(ts - 6 * HOUR) + 6 * HOUR;
}

function contribution(m: Minute): PeriodSums {
  return [m.periodS * 10 ** (m.laeq / 10), m.periodS, Math.min(m.periodS, 60) / 60];
}

export interface HourResult {
  hourStart: number;
  period: 'day' | 'night';
  leq: number | null;
  /** Share of the hour covered by samples (the valid-data rate). */
  coverage: number;
  limit: number;
  /** Too few samples: reported as incomplete, never as compliant. */
  complete: boolean;
  exceeds: boolean | null;
}

export interface StationRow {
  nodeId: string;
  station: string;
  district: string;
  zoneClass: string;
  lastHour: HourResult;
  currentHour: HourResult;
  /** Ld / Ln of the noise day containing the evaluation time, and of the one before. */
  today: DayResult;
  yesterday: DayResult;
}
export interface NoiseSection {
  /** Start of the last closed hour the rows judge. */
  hour: number;
  stations: StationRow[];
}

/**
 * Noise stations: hourly Leq as an energy average of the minute values, judged against the
 * GB 3096-2008 limit of its zone class and period; night peaks against the night limit + 15 dB.
 */
export class NoiseProcessor implements KindProcessor<'noise', NoiseSection> {
  readonly kind = 'noise' as const;
  readonly #stations = new Map<string, StationState>();
  /**
   * Each station's last row and what it was made of (the station, the closed hour, the noise day, the
   * valid-data ratio): a station without new minutes keeps it, so an evaluation works out the rows
   * of the stations that reported since (evaluations come several times a second; a station
   * reports once a minute). Dropped when the station's state changes.
   */
  readonly #rows = new Map<string, { station: Station; hour: number; day: number; ratio: number; row: StationRow }>();

  apply(record: ReadingRecord<'noise'>): void {
    const r = record.reading;
    this.#rows.delete(record.nodeId);
    let state = this.#stations.get(record.nodeId);
    if (!state) this.#stations.set(record.nodeId, (state = { minutes: new Map(), days: new Map(), latest: r }));
    if (r.ts >= state.latest.ts) state.latest = r;
    const t = minuteStart(r.ts);
    const minute: Minute = { laeq: r.laeq, lamax: r.lamax, periodS: r.periodS };
    const before = state.minutes.get(t);
    state.minutes.set(t, minute);
    const dayStart = noiseDayStart(t);
    let sums = state.days.get(dayStart);
    if (!sums) state.days.set(dayStart, (sums = { day: [0, 0, 0], night: [0, 0, 0] }));
    const period = sums[noisePeriod(t)];
    // A minute set again (replay, resend inside the allowed lateness) replaces its old contribution.
    const add = (sign: 1 | -1, m: Minute) => {
      const [energy, seconds, minutes] = contribution(m);
      period[0] += sign * energy;
      period[1] += sign * seconds;
      period[2] += sign * minutes;
    };
    if (before) add(-1, before);
    add(1, minute);
    if (state.minutes.size > 26 * 60 + 60) {
      const horizon = state.latest.ts - KEEP_MS;
      for (const t of state.minutes.keys()) if (t < horizon) state.minutes.delete(t);
    }
    if (state.days.size > KEEP_DAYS) {
      const oldest = noiseDayStart(state.latest.ts) - (KEEP_DAYS - 1) * 86_400_000;
      for (const d of state.days.keys()) if (d < oldest) state.days.delete(d);
    }
  }

  /** Ld (06-22) and Ln (22-06 of the following night) of the noise day starting at `dayStart`. */
  day(station: Station, dayStart: number, minValidRatio: number): DayResult {
    const sums = this.#stations.get(station.nodeId)?.days.get(dayStart);
    const limits = ZONE_LIMITS[station.zoneClass];
    const judge = (s: PeriodSums | undefined, expectedMinutes: number, limit: number) => {
      const level = s && s[1] > 0 ? 10 * Math.log10(s[0] / s[1]) : null;
      const rate = s ? Math.min(1, s[2] / expectedMinutes) : 0;
      const complete = level !== null && rate >= minValidRatio - 1e-9;
      return {
        level: level === null ? null : Math.round(level * 10) / 10,
        rate: Math.round(rate * 1000) / 1000,
        complete,
        exceeds: complete ? level > limit : null,
      };
    };
    const d = judge(sums?.day, DAY_PERIOD_MINUTES, limits.day);
    const n = judge(sums?.night, NIGHT_PERIOD_MINUTES, limits.night);
    return {
      date: localDate(dayStart),
      ld: d.level,
      ldValidRate: d.rate,
      ldComplete: d.complete,
      ldExceeds: d.exceeds,
      ln: n.level,
      lnValidRate: n.rate,
      lnComplete: n.complete,
      lnExceeds: n.exceeds,
    };
  }

  hour(station: Station, start: number, minValidRatio: number): HourResult {
    const period = noisePeriod(start);
    const limit = ZONE_LIMITS[station.zoneClass][period];
    const samples = [];
    const state = this.#stations.get(station.nodeId);
    if (state) {
      for (let t = start; t < start + HOUR; t += 60_000) {
        const m = state.minutes.get(t);
        if (m) samples.push({ level: m.laeq, durationS: m.periodS });
      }
    }
    const leq = energyAverage(samples);
    const coverage = Math.min(1, samples.reduce((s, x) => s + x.durationS, 0) / 3600);
    const complete = coverage >= minValidRatio;
    return {
      hourStart: start,
      period,
      leq: leq === null ? null : Math.round(leq * 10) / 10,
      coverage: Math.round(coverage * 1000) / 1000,
      limit,
      complete,
      exceeds: complete && leq !== null ? leq > limit : null,
    };
  }

  /** Night minutes of the last hour whose LAmax broke the night limit + 15 dB(A). */
  #nightPeak(station: Station, now: number): number | null {
    const state = this.#stations.get(station.nodeId);
    if (!state) return null;
    const limit = ZONE_LIMITS[station.zoneClass].night + NIGHT_PEAK_ALLOWANCE_DB;
    let peak: number | null = null;
    for (const [t, m] of state.minutes) {
      if (t < now - HOUR || t > now || m.lamax === undefined || noisePeriod(t) !== 'night') continue;
      if (m.lamax > limit && (peak === null || m.lamax > peak)) peak = m.lamax;
    }
    return peak;
  }

  partial(stations: readonly Station[], ctx: EvalContext): KindPartial<NoiseSection> {
    const conditions: AlertCondition[] = [];
    const closed = hourStart(ctx.now) - HOUR;
    const today = noiseDayStart(ctx.now);
    const ratio = ctx.config.NOISE_MIN_VALID_RATIO;
    const rows: StationRow[] = [];
    for (const station of stations) {
      const cached = this.#rows.get(station.nodeId);
      const row =
        cached && cached.station === station && cached.hour === closed && cached.day === today && cached.ratio === ratio
          ? cached.row
          : this.#row(station, closed, today, ratio);
      rows.push(row);
      const last = row.lastHour;
      const labels = {
        kind: 'noise',
        district: station.district,
        station: station.station,
        node: station.nodeId,
        zoneClass: station.zoneClass,
      };
      if (last.exceeds) {
        conditions.push({
          alertname: 'NoiseOverLimit',
          severity: 'minor',
          labels: { ...labels, period: last.period },
          summary: `${station.station}: hourly Leq ${last.leq} dB(A) over the ${last.period} limit ${last.limit} dB(A) of zone ${station.zoneClass}`,
          value: last.leq ?? undefined,
        });
      }
      const peak = this.#nightPeak(station, ctx.now);
      if (peak !== null) {
        conditions.push({
          alertname: 'NoiseNightPeak',
          severity: 'minor',
          labels,
          summary: `${station.station}: night LAmax ${peak} dB(A) over ${ZONE_LIMITS[station.zoneClass].night + NIGHT_PEAK_ALLOWANCE_DB} dB(A)`,
          value: peak,
        });
      }
    }
    return { section: { hour: closed, stations: rows }, conditions };
  }

  #row(station: Station, closed: number, today: number, ratio: number): StationRow {
    const row: StationRow = {
      nodeId: station.nodeId,
      station: station.station,
      district: station.district,
      zoneClass: station.zoneClass,
      lastHour: this.hour(station, closed, ratio),
      currentHour: this.hour(station, closed + HOUR, ratio),
      today: this.day(station, today, ratio),
      yesterday: this.day(station, today - 86_400_000, ratio),
    };
    this.#rows.set(station.nodeId, { station, hour: closed, day: today, ratio, row });
    return row;
  }

  exportNode(nodeId: string): unknown {
    const state = this.#stations.get(nodeId);
    // Detached copies: a snapshot is serialised after its turn, while readings go on summing into the live ones.
    return (
      state && {
        latest: state.latest,
        minutes: [...state.minutes],
        days: [...state.days].map(([day, sums]) => [day, { day: [...sums.day], night: [...sums.night] }]),
      }
    );
  }

  importNode(nodeId: string, state: unknown): void {
    const s = state as { latest: NoiseReading; minutes: [number, Minute][]; days?: [number, DaySums][] };
    this.#rows.delete(nodeId);
    this.#stations.set(nodeId, { latest: s.latest, minutes: new Map(s.minutes), days: new Map(s.days ?? []) });
  }

  describe(station: Station, ctx: EvalContext) {
    const state = this.#stations.get(station.nodeId);
    if (!state) return {};
    return {
      latest: state.latest,
      derived: {
        lastHour: this.hour(station, hourStart(ctx.now) - HOUR, ctx.config.NOISE_MIN_VALID_RATIO),
        currentHour: this.hour(station, hourStart(ctx.now), ctx.config.NOISE_MIN_VALID_RATIO),
        today: this.day(station, noiseDayStart(ctx.now), ctx.config.NOISE_MIN_VALID_RATIO),
        yesterday: this.day(station, noiseDayStart(ctx.now) - 86_400_000, ctx.config.NOISE_MIN_VALID_RATIO),
      },
    };
  }
}
