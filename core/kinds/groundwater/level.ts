import type { WarningLines } from '../../index.js';

export const BANDS = ['normal', 'yellow', 'orange', 'red'] as const;
export type Band = (typeof BANDS)[number];

export interface LevelPoint {
  ts: number;
  level: number;
}

/** Median: a robust filter against single-reading sensor spikes. */
export function median(values: number[]): number {
  if (values.length === 0) throw new Error('median of nothing');
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The band a level is in: below the red line is red, below orange is orange, below yellow is yellow. */
export function bandOf(level: number, lines: WarningLines): Band {
  if (level < lines.red) return 'red';
  if (level < lines.orange) return 'orange';
  if (level < lines.yellow) return 'yellow';
  return 'normal';
}

/**
 * Band with hysteresis: it worsens as soon as the level crosses a line, but improves only once the
 * level is `margin` metres above the line it left, so a level hovering on a line does not flap.
 */
export function nextBand(current: Band, level: number, lines: WarningLines, margin: number): Band {
  const raw = BANDS.indexOf(bandOf(level, lines));
  const relaxed = BANDS.indexOf(bandOf(level - margin, lines));
  return BANDS[Math.max(raw, Math.min(BANDS.indexOf(current), relaxed))]!;
}

/** Least-squares slope of level over time, in cm per day; null without enough spread to mean anything. */
export function trendCmPerDay(points: LevelPoint[], minSpanMs = 3_600_000): number | null {
  if (points.length < 3) return null;
  const t0 = points[0]!.ts;
  let n = 0,
    sx = 0,
    sy = 0,
    sxx = 0,
    sxy = 0,
    min = Infinity,
    max = -Infinity;
  for (const p of points) {
    const x = (p.ts - t0) / 86_400_000; // days
    n++;
    sx += x;
    sy += p.level;
    sxx += x * x;
    sxy += x * p.level;
    min = Math.min(min, p.ts);
    max = Math.max(max, p.ts);
  }
  if (max - min < minSpanMs) return null;
  const denom = n * sxx - sx * sx;
  if (denom === 0) return null;
  return ((n * sxy - sx * sy) / denom) * 100;
}

/** The next warning line below the current band, or null in the red band. */
export function nextLineBelow(band: Band, lines: WarningLines): { band: Band; level: number } | null {
  if (band === 'normal') return { band: 'yellow', level: lines.yellow };
  if (band === 'yellow') return { band: 'orange', level: lines.orange };
  if (band === 'orange') return { band: 'red', level: lines.red };
  return null;
}

/** Hours until a falling level reaches `line` at the current trend; null if not falling. */
export function hoursToLine(level: number, line: number, trendCmDay: number | null): number | null {
  if (level <= line) return 0;
  if (trendCmDay === null || trendCmDay >= 0) return null;
  return (((level - line) * 100) / -trendCmDay) * 24;
}
