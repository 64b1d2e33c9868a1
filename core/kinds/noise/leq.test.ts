import { describe, expect, it } from 'vitest';
import { evaluateWhole } from '../../../processors/types.js';
import { NoiseMerger } from './merge.js';
import type { NodeOf, RegistryNode } from '../../index.js';
import { at, ctx, record } from '../../../test/fixtures.js';
import { dayNightLevel, energyAverage } from './leq.js';
import { NoiseProcessor } from './processor.js';

const minutes = (levels: number[]) => levels.map((level) => ({ level, durationS: 60 }));

describe('energy-average Leq', () => {
  it('matches hand-computed values, never the arithmetic mean', () => {
    // 10*log10((10^6 + 10^7) / 2) = 10*log10(5.5e6) = 67.4036 dB, not 65.
    expect(energyAverage(minutes([60, 70]))).toBeCloseTo(67.4036, 4);
    // Hourly Leq of 30 minutes at 50 dB and 30 at 70 dB: 10*log10((1e5 + 1e7)/2) = 67.0329 dB.
    expect(energyAverage(minutes([...Array(30).fill(50), ...Array(30).fill(70)]))).toBeCloseTo(67.0329, 4);
    expect(energyAverage(minutes(Array(60).fill(55)))).toBeCloseTo(55, 10);
    expect(energyAverage([])).toBeNull();
  });

  it('weights samples by their duration', () => {
    // 50 minutes at 60 dB and 10 at 70 dB: 10*log10((50*1e6 + 10*1e7)/60) = 10*log10(2.5e6) = 63.9794 dB.
    expect(
      energyAverage([
        { level: 60, durationS: 3000 },
        { level: 70, durationS: 600 },
      ]),
    ).toBeCloseTo(63.9794, 4);
  });

  it('computes Ldn with the 10 dB night penalty', () => {
    // (16*10^6 + 8*10^((50+10)/10)) / 24 = 10^6 -> 60 dB.
    expect(dayNightLevel(60, 50)).toBeCloseTo(60, 10);
  });
});

describe('noise processor', () => {
  const station: RegistryNode = {
    nodeId: 'NS-1',
    kind: 'noise',
    district: 'Lixia',
    lat: 36.6,
    lon: 117,
    station: 'Quancheng Residential',
    zoneClass: '1',
  };
  const feed = (p: NoiseProcessor, from: number, count: number, laeq: number, lamax?: number) => {
    for (let i = 0; i < count; i++) p.apply(record(station as NodeOf<'noise'>, { ts: from + i * 60_000, laeq, lamax, periodS: 60 }));
  };

  it('judges the closed night hour (23:00-24:00, crossing into the next day) against the night limit', () => {
    const p = new NoiseProcessor();
    const m = new NoiseMerger();
    feed(p, at('2026-06-21T23:00:00'), 60, 48);
    const { kpis, conditions } = evaluateWhole(p, m, ctx([station], at('2026-06-22T00:10:00')));
    const last = (kpis.list as { lastHour: { period: string; leq: number; limit: number; complete: boolean; exceeds: boolean } }[])[0]!
      .lastHour;
    expect(last).toMatchObject({ period: 'night', leq: 48, limit: 45, complete: true, exceeds: true });
    expect(conditions.map((c) => c.alertname)).toEqual(['NoiseOverLimit']);
    expect(kpis).toMatchObject({ complete: 1, compliant: 0, complianceRate: 0 });
  });

  it('evaluated again, keeps a row only while its station, hour and day are the same: new minutes, a restored state and the next hour show', () => {
    const p = new NoiseProcessor();
    const list = (now: number) =>
      (
        p.partial([station as NodeOf<'noise'>], ctx([station], now)).section.stations as {
          currentHour: { coverage: number };
          lastHour: { coverage: number };
        }[]
      )[0]!;
    feed(p, at('2026-06-21T10:00:00'), 6, 50);
    const first = list(at('2026-06-21T10:10:00'));
    expect(first.currentHour.coverage).toBe(0.1); // 6 of 60 minutes
    expect(list(at('2026-06-21T10:11:00'))).toBe(first); // nothing new: the same row
    feed(p, at('2026-06-21T10:06:00'), 3, 50);
    expect(list(at('2026-06-21T10:11:00')).currentHour.coverage).toBe(0.15); // 9 minutes
    const saved = p.exportNode(station.nodeId);
    feed(p, at('2026-06-21T10:09:00'), 3, 50);
    expect(list(at('2026-06-21T10:12:00')).currentHour.coverage).toBe(0.2);
    p.importNode(station.nodeId, saved); // back to 9 minutes
    expect(list(at('2026-06-21T10:12:00')).currentHour.coverage).toBe(0.15);
    // The next hour: the same minutes are the closed hour's.
    expect(list(at('2026-06-21T11:00:00'))).toMatchObject({ lastHour: { coverage: 0.15 }, currentHour: { coverage: 0 } });
  });

  it('reports an hour with too few samples as incomplete, not compliant, and raises nothing', () => {
    const p = new NoiseProcessor();
    const m = new NoiseMerger();
    feed(p, at('2026-06-21T10:00:00'), 40, 70); // 40 of 60 minutes < 75 %
    const { kpis, conditions } = evaluateWhole(p, m, ctx([station], at('2026-06-21T11:05:00')));
    expect((kpis.list as { lastHour: object }[])[0]!.lastHour).toMatchObject({ complete: false, exceeds: null, coverage: 0.667 });
    expect(kpis).toMatchObject({ complete: 0, incomplete: 1, complianceRate: null });
    expect(conditions).toEqual([]);
  });

  it('counts a replayed minute once', () => {
    const p = new NoiseProcessor();
    const m = new NoiseMerger();
    // One loud minute (80 dB) then 59 quiet ones (50 dB), and the loud minute replayed, so a
    // double count changes the level (a flat hour would hide it):
    //   once:  10*log10((1 * 10^8 + 59 * 10^5) / 60) = 10*log10(1.765e6)   = 62.47 -> 62.5 dB
    //   twice: 10*log10((2 * 10^8 + 59 * 10^5) / 61) = 10*log10(3.3754e6)  = 65.28 -> 65.3 dB
    feed(p, at('2026-06-21T10:00:00'), 1, 80);
    feed(p, at('2026-06-21T10:01:00'), 59, 50);
    feed(p, at('2026-06-21T10:00:00'), 1, 80); // replay of the first minute
    const last = p.hour(station as NodeOf<'noise'>, at('2026-06-21T10:00:00'), 0.75);
    expect(last.coverage).toBe(1);
    expect(last.leq).toBe(62.5);
    // The day's running sums (Ld) count it once too: the hour is the only data of the day period.
    const { kpis } = evaluateWhole(p, m, ctx([station], at('2026-06-21T11:05:00')));
    const row = (kpis.list as { lastHour: { leq: number }; today: { ld: number } }[])[0]!;
    expect(row.lastHour.leq).toBe(62.5);
    expect(row.today.ld).toBe(62.5);
  });

  it('flags a night LAmax over the night limit + 15 dB', () => {
    const p = new NoiseProcessor();
    const m = new NoiseMerger();
    feed(p, at('2026-06-21T23:00:00'), 5, 40, 60); // 45 + 15 = 60: allowed
    expect(evaluateWhole(p, m, ctx([station], at('2026-06-21T23:06:00'))).conditions).toEqual([]);
    feed(p, at('2026-06-21T23:10:00'), 1, 40, 61);
    const { conditions } = evaluateWhole(p, m, ctx([station], at('2026-06-21T23:12:00')));
    expect(conditions).toMatchObject([{ alertname: 'NoiseNightPeak', value: 61 }]);
  });
});

describe('noise day: Ld and Ln with the valid-data rate', () => {
  const station: RegistryNode = {
    nodeId: 'NS-2',
    kind: 'noise',
    district: 'Lixia',
    lat: 36.6,
    lon: 117,
    station: 'Baotu Residential',
    zoneClass: '1',
  };
  const feed = (p: NoiseProcessor, from: number, count: number, laeq: number) => {
    for (let i = 0; i < count; i++) p.apply(record(station as NodeOf<'noise'>, { ts: from + i * 60_000 + 5_000, laeq, periodS: 60 }));
  };
  const row = (p: NoiseProcessor, now: number) => {
    const { kpis } = evaluateWhole(p, new NoiseMerger(), ctx([station], now));
    return (kpis.list as { today: object; yesterday: object }[])[0]!;
  };

  it('reports a day with too few samples as incomplete, never compliant', () => {
    const p = new NoiseProcessor();
    feed(p, at('2026-06-21T06:00:00'), 600, 50); // 600 of 960 day minutes = 0.625 < 0.75
    expect(row(p, at('2026-06-21T23:00:00')).today).toEqual({
      date: '2026-06-21',
      ld: 50,
      ldValidRate: 0.625,
      ldComplete: false,
      ldExceeds: null,
      ln: null,
      lnValidRate: 0,
      lnComplete: false,
      lnExceeds: null,
    });
  });

  it('puts the night 22:00 D -> 06:00 D+1 into day D (Ln across midnight, energy average)', () => {
    const p = new NoiseProcessor();
    feed(p, at('2026-06-21T03:00:00'), 60, 70); // 03:00-04:00 on the 21st: the night of noise day 2026-06-20
    feed(p, at('2026-06-21T06:00:00'), 960, 54); // the whole day period at 54 dB (limit 55)
    feed(p, at('2026-06-21T22:00:00'), 240, 40); // 22:00-02:00
    feed(p, at('2026-06-22T02:00:00'), 240, 50); // 02:00-06:00
    // Ln = 10*log10((240*10^4 + 240*10^5) / 480) = 10*log10(55000) = 47.40 dB > 45: exceeds.
    const night = {
      date: '2026-06-21',
      ld: 54,
      ldValidRate: 1,
      ldComplete: true,
      ldExceeds: false,
      ln: 47.4,
      lnValidRate: 1,
      lnComplete: true,
      lnExceeds: true,
    };
    const before6 = row(p, at('2026-06-22T05:59:30'));
    expect(before6.today).toEqual(night);
    // 2026-06-20: only 60 of 480 night minutes (rate 0.125), 70 dB: incomplete, so not judged.
    expect(before6.yesterday).toEqual({
      date: '2026-06-20',
      ld: null,
      ldValidRate: 0,
      ldComplete: false,
      ldExceeds: null,
      ln: 70,
      lnValidRate: 0.125,
      lnComplete: false,
      lnExceeds: null,
    });
    const after6 = row(p, at('2026-06-22T07:00:00'));
    expect(after6.yesterday).toEqual(night);
    expect(after6.today).toMatchObject({ date: '2026-06-22', ld: null, ln: null, ldComplete: false });
  });

  it('replaces a minute sent again with another value instead of adding it, and survives export/import', () => {
    const p = new NoiseProcessor();
    feed(p, at('2026-06-21T06:00:00'), 960, 60);
    feed(p, at('2026-06-21T06:00:00'), 480, 70); // first 8 h sent again at 70 dB
    // Ld = 10*log10((480*10^7 + 480*10^6) / 960) = 10*log10(5.5e6) = 67.40 dB; still 960 valid minutes.
    const copy = new NoiseProcessor();
    copy.importNode('NS-2', JSON.parse(JSON.stringify(p.exportNode('NS-2'))));
    for (const q of [p, copy])
      expect(row(q, at('2026-06-21T23:00:00')).today).toMatchObject({ ld: 67.4, ldValidRate: 1, ldComplete: true, ldExceeds: true });
  });
});
