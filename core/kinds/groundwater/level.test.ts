import { describe, expect, it } from 'vitest';
import { evaluateWhole } from '../../../processors/types.js';
import { GroundwaterMerger } from './merge.js';
import type { NodeOf, RegistryNode } from '../../index.js';
import { ctx, record } from '../../../test/fixtures.js';
import { bandOf, hoursToLine, median, nextBand, trendCmPerDay } from './level.js';
import { GroundwaterProcessor } from './processor.js';

const baotu = { yellow: 28.15, orange: 28.0, red: 27.6 };
const HOUR = 3_600_000;

describe('groundwater level math', () => {
  it('filters with a median', () => {
    expect(median([28.2, 28.21, 35, 28.19, 28.2])).toBe(28.2);
    expect(median([1, 2, 3, 4])).toBe(2.5);
  });

  it('bands the level against the warning ladder', () => {
    expect(bandOf(28.2, baotu)).toBe('normal');
    expect(bandOf(28.15, baotu)).toBe('normal'); // on the line is not below it
    expect(bandOf(28.1, baotu)).toBe('yellow');
    expect(bandOf(27.9, baotu)).toBe('orange');
    expect(bandOf(27.5, baotu)).toBe('red');
  });

  it('does not flap for a level hovering on a line (hysteresis)', () => {
    const levels = [28.16, 28.14, 28.155, 28.145, 28.16, 28.165, 28.17, 28.169, 28.171];
    let band = 'normal' as ReturnType<typeof bandOf>;
    const seen = levels.map((l) => (band = nextBand(band, l, baotu, 0.02)));
    // Enters yellow at 28.14 and stays until the level is back at 28.17 (line + 2 cm).
    expect(seen).toEqual(['normal', 'yellow', 'yellow', 'yellow', 'yellow', 'yellow', 'normal', 'normal', 'normal']);
  });

  it('computes the trend in cm/day by least squares', () => {
    // 28.30 m falling 2 cm over 12 hours = -4 cm/day.
    const points = [0, 6, 12].map((h) => ({ ts: h * HOUR, level: 28.3 - (0.02 * h) / 12 }));
    expect(trendCmPerDay(points)).toBeCloseTo(-4, 6);
    expect(trendCmPerDay(points.slice(0, 2))).toBeNull();
  });

  it('projects hours to the next line at the current trend', () => {
    // 10 cm above the line at -4 cm/day: 2.5 days = 60 h.
    expect(hoursToLine(28.25, 28.15, -4)).toBeCloseTo(60, 6);
    expect(hoursToLine(28.25, 28.15, 1)).toBeNull();
    expect(hoursToLine(28.1, 28.15, -4)).toBe(0);
  });
});

describe('groundwater processor', () => {
  const well: RegistryNode = {
    nodeId: 'GW-1',
    kind: 'groundwater',
    district: 'Lixia',
    lat: 36.66,
    lon: 117.01,
    well: 'Baotu Spring',
    springGroup: 'Baotu',
    lines: baotu,
  };
  it('ignores a single spike and raises GroundwaterBelowLine with the band label', () => {
    const p = new GroundwaterProcessor();
    const m = new GroundwaterMerger();
    const t0 = Date.parse('2026-06-01T00:00:00Z');
    const levels = [27.95, 27.96, 29.9, 27.94, 27.95];
    levels.forEach((level, i) =>
      p.apply(record(well as NodeOf<'groundwater'>, { ts: t0 + i * 60_000, waterTableM: level }), well as NodeOf<'groundwater'>),
    );
    const { kpis, conditions } = evaluateWhole(p, m, ctx([well], t0 + 5 * 60_000));
    expect((kpis.list as { level: number; band: string }[])[0]).toMatchObject({ level: 27.95, band: 'orange', nextLine: 'red' });
    expect(conditions).toMatchObject([
      { alertname: 'GroundwaterBelowLine', severity: 'major', labels: { band: 'orange', well: 'Baotu Spring' } },
    ]);
  });

  it('raises GroundwaterFallingFast for a steep 24 h fall', () => {
    const p = new GroundwaterProcessor();
    const m = new GroundwaterMerger();
    const t0 = Date.parse('2026-06-01T00:00:00Z');
    for (let h = 0; h <= 12; h++)
      p.apply(record(well as NodeOf<'groundwater'>, { ts: t0 + h * HOUR, waterTableM: 29 - 0.005 * h }), well as NodeOf<'groundwater'>); // -12 cm/day
    const { conditions, kpis } = evaluateWhole(p, m, ctx([well], t0 + 12 * HOUR));
    expect((kpis.list as { trend24hCmPerDay: number }[])[0]!.trend24hCmPerDay).toBeCloseTo(-12, 5);
    expect(conditions.map((c) => c.alertname)).toEqual(['GroundwaterFallingFast']);
  });

  it('moves the band with the readings, not with the evaluation timer (a replay reaches the same band)', () => {
    const t0 = Date.parse('2026-06-01T00:00:00Z');
    const levels = [28.2, 28.1, 28.1, 28.1, 28.1, 28.16, 28.16, 28.16, 28.16, 28.16];
    const run = (evaluateEach: boolean) => {
      const p = new GroundwaterProcessor(0.02);
      const m = new GroundwaterMerger();
      levels.forEach((level, i) => {
        p.apply(record(well as NodeOf<'groundwater'>, { ts: t0 + i * 60_000, waterTableM: level }), well as NodeOf<'groundwater'>);
        if (evaluateEach) evaluateWhole(p, m, ctx([well], t0 + i * 60_000));
      });
      return (evaluateWhole(p, m, ctx([well], t0 + levels.length * 60_000)).kpis.list as { band: string }[])[0]!.band;
    };
    // Dipped into yellow, back at 28.16 (< 28.15 + 0.02): still yellow, however often it was evaluated.
    expect(run(true)).toBe('yellow');
    expect(run(false)).toBe('yellow');
  });
});
