import type { AlertCondition, GroundwaterReading, NodeOf, ReadingRecord, Severity } from '../../index.js';
import type { EvalContext, KindPartial, KindProcessor } from '../../../processors/types.js';
import { hoursToLine, median, nextBand, nextLineBelow, trendCmPerDay, type Band, type LevelPoint } from './level.js';

type Well = NodeOf<'groundwater'>;
const DAY = 86_400_000;
const KEEP_MS = 8 * DAY;
const MAX_POINTS = 20_000;
const MEDIAN_OF = 5;
const SEVERITY: Record<Exclude<Band, 'normal'>, Severity> = { yellow: 'minor', orange: 'major', red: 'critical' };

/** One row per well; `level` and `band` are null until the well has reported. */
export type WellRow = {
  nodeId: string;
  well: string;
  springGroup: string;
  district: string;
  level: number | null;
  band: Band | null;
} & Record<string, unknown>;
export interface GroundwaterSection {
  wells: WellRow[];
}

interface WellState {
  points: LevelPoint[]; // sorted by ts, one per ts
  latest: GroundwaterReading;
  band: Band;
}

/**
 * Spring wells: median-filtered level, band against the well's yellow/orange/red lines with
 * hysteresis, 24 h and 7 day trend (cm/day) and the projected time to the next line.
 */
export class GroundwaterProcessor implements KindProcessor<'groundwater', GroundwaterSection> {
  readonly kind = 'groundwater' as const;
  readonly #wells = new Map<string, WellState>();

  /** `hysteresisM`: metres above a line the filtered level must regain before its band clears. */
  constructor(private readonly hysteresisM = 0.02) {}

  /**
   * The band moves here, reading by reading in log order, not on the evaluation timer: so it is a
   * function of the readings alone, and a replay (rebuild after a hand-over) reaches the same band.
   */
  apply(record: ReadingRecord<'groundwater'>, well: Well): void {
    const r = record.reading;
    let state = this.#wells.get(record.nodeId);
    if (!state) this.#wells.set(record.nodeId, (state = { points: [], latest: r, band: 'normal' }));
    if (r.ts >= state.latest.ts) state.latest = r;
    insertSorted(state.points, { ts: r.ts, level: r.waterTableM });
    const horizon = state.points[state.points.length - 1]!.ts - KEEP_MS;
    let drop = 0;
    while (drop < state.points.length && state.points[drop]!.ts < horizon) drop++;
    if (state.points.length - drop > MAX_POINTS) drop = state.points.length - MAX_POINTS;
    if (drop > 0) state.points.splice(0, drop);
    state.band = nextBand(state.band, filteredLevel(state.points), well.lines, this.hysteresisM);
  }

  exportNode(nodeId: string): unknown {
    const state = this.#wells.get(nodeId);
    return state && { latest: state.latest, band: state.band, points: state.points.map((p) => [p.ts, p.level]) };
  }

  importNode(nodeId: string, state: unknown): void {
    const s = state as { latest: GroundwaterReading; band: Band; points: [number, number][] };
    this.#wells.set(nodeId, { latest: s.latest, band: s.band, points: s.points.map(([ts, level]) => ({ ts, level })) });
  }

  #derive(well: Well, state: WellState, ctx: EvalContext) {
    const recent = state.points.filter((p) => p.ts <= ctx.now);
    if (recent.length === 0) return null;
    const level = filteredLevel(recent);
    const band = state.band;
    const trend24h = trendCmPerDay(recent.filter((p) => p.ts >= ctx.now - DAY));
    const trend7d = trendCmPerDay(
      recent.filter((p) => p.ts >= ctx.now - 7 * DAY),
      6 * 3_600_000,
    );
    const next = nextLineBelow(band, well.lines);
    return {
      level: round(level, 3),
      band,
      trend24hCmPerDay: trend24h === null ? null : round(trend24h, 2),
      trend7dCmPerDay: trend7d === null ? null : round(trend7d, 2),
      nextLine: next?.band ?? null,
      nextLineM: next?.level ?? null,
      hoursToNextLine: next ? roundOrNull(hoursToLine(level, next.level, trend24h), 1) : null,
      lines: well.lines,
      lastTs: state.latest.ts,
    };
  }

  partial(wells: readonly Well[], ctx: EvalContext): KindPartial<GroundwaterSection> {
    const rows: WellRow[] = [];
    const conditions: AlertCondition[] = [];
    for (const well of wells) {
      const state = this.#wells.get(well.nodeId);
      const d = state ? this.#derive(well, state, ctx) : null;
      const base = { nodeId: well.nodeId, well: well.well, springGroup: well.springGroup, district: well.district };
      if (!d) {
        rows.push({ ...base, level: null, band: null });
        continue;
      }
      rows.push({ ...base, ...d });
      const labels = { kind: 'groundwater', district: well.district, well: well.well, node: well.nodeId };
      if (d.band !== 'normal') {
        conditions.push({
          alertname: 'GroundwaterBelowLine',
          severity: SEVERITY[d.band],
          labels: { ...labels, band: d.band },
          summary: `${well.well} at ${d.level.toFixed(2)} m is below its ${d.band} line (${well.lines[d.band].toFixed(2)} m)`,
          value: d.level,
        });
      }
      if (d.trend24hCmPerDay !== null && d.trend24hCmPerDay <= -ctx.config.GROUNDWATER_FALLING_FAST_CM_PER_DAY) {
        conditions.push({
          alertname: 'GroundwaterFallingFast',
          severity: 'major',
          labels,
          summary: `${well.well} is falling ${(-d.trend24hCmPerDay).toFixed(1)} cm/day`,
          value: d.trend24hCmPerDay,
        });
      }
    }
    return { section: { wells: rows }, conditions };
  }

  describe(well: Well, ctx: EvalContext) {
    const state = this.#wells.get(well.nodeId);
    if (!state) return {};
    return { latest: state.latest, derived: this.#derive(well, state, ctx) ?? undefined };
  }
}

/** Median of the last few readings: one spiking reading does not move the level. */
function filteredLevel(points: LevelPoint[]): number {
  return median(points.slice(-MEDIAN_OF).map((p) => p.level));
}

/** Keeps points sorted by time; a replayed reading (same ts) overwrites instead of adding. */
function insertSorted(points: LevelPoint[], p: LevelPoint): void {
  let i = points.length;
  while (i > 0 && points[i - 1]!.ts > p.ts) i--;
  if (i > 0 && points[i - 1]!.ts === p.ts) points[i - 1] = p;
  else points.splice(i, 0, p);
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
function roundOrNull(x: number | null, digits: number): number | null {
  return x === null ? null : round(x, digits);
}
