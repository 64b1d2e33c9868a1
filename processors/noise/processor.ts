import { hourStart, minuteStart, noisePeriod, type AlertCondition, type NodeOf, type NoiseReading, type ReadingRecord } from '../../core/index.js';
import type { EvalContext, KindPartial, KindProcessor } from '../types.js';
import { energyAverage, NIGHT_PEAK_ALLOWANCE_DB, ZONE_LIMITS } from './leq.js';

type Station = NodeOf<'noise'>;
const HOUR = 3_600_000;
const KEEP_MS = 26 * HOUR;

interface Minute {
  laeq: number;
  lamax?: number;
  periodS: number;
}

interface StationState {
  /** One value per minute start: a replayed minute overwrites, so nothing is counted twice. */
  minutes: Map<number, Minute>;
  latest: NoiseReading;
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

  apply(record: ReadingRecord<'noise'>): void {
    const r = record.reading;
    let state = this.#stations.get(record.nodeId);
    if (!state) this.#stations.set(record.nodeId, (state = { minutes: new Map(), latest: r }));
    if (r.ts >= state.latest.ts) state.latest = r;
    state.minutes.set(minuteStart(r.ts), { laeq: r.laeq, lamax: r.lamax, periodS: r.periodS });
    if (state.minutes.size > 26 * 60 + 60) {
      const horizon = state.latest.ts - KEEP_MS;
      for (const t of state.minutes.keys()) if (t < horizon) state.minutes.delete(t);
    }
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
    return { hourStart: start, period, leq: leq === null ? null : Math.round(leq * 10) / 10, coverage: Math.round(coverage * 1000) / 1000, limit, complete, exceeds: complete && leq !== null ? leq > limit : null };
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
    const rows: StationRow[] = [];
    for (const station of stations) {
      const last = this.hour(station, closed, ctx.config.NOISE_MIN_VALID_RATIO);
      const current = this.hour(station, hourStart(ctx.now), ctx.config.NOISE_MIN_VALID_RATIO);
      rows.push({ nodeId: station.nodeId, station: station.station, district: station.district, zoneClass: station.zoneClass, lastHour: last, currentHour: current });
      const labels = { kind: 'noise', district: station.district, station: station.station, node: station.nodeId, zoneClass: station.zoneClass };
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

  exportNode(nodeId: string): unknown {
    const state = this.#stations.get(nodeId);
    return state && { latest: state.latest, minutes: [...state.minutes] };
  }

  importNode(nodeId: string, state: unknown): void {
    const s = state as { latest: NoiseReading; minutes: [number, Minute][] };
    this.#stations.set(nodeId, { latest: s.latest, minutes: new Map(s.minutes) });
  }

  describe(station: Station, ctx: EvalContext) {
    const state = this.#stations.get(station.nodeId);
    if (!state) return {};
    return {
      latest: state.latest,
      derived: {
        lastHour: this.hour(station, hourStart(ctx.now) - HOUR, ctx.config.NOISE_MIN_VALID_RATIO),
        currentHour: this.hour(station, hourStart(ctx.now), ctx.config.NOISE_MIN_VALID_RATIO),
      },
    };
  }
}
