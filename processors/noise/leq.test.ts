import { describe, expect, it } from 'vitest';
import { evaluateWhole } from '../types.js';
import { NoiseMerger } from './merge.js';
import type { NodeOf, RegistryNode } from '../../core/index.js';
import { at, ctx, record } from '../../test/fixtures.js';
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
    expect(energyAverage([{ level: 60, durationS: 3000 }, { level: 70, durationS: 600 }])).toBeCloseTo(63.9794, 4);
  });

  it('computes Ldn with the 10 dB night penalty', () => {
    // (16*10^6 + 8*10^((50+10)/10)) / 24 = 10^6 -> 60 dB.
    expect(dayNightLevel(60, 50)).toBeCloseTo(60, 10);
  });
});

describe('noise processor', () => {
  const station: RegistryNode = { nodeId: 'NS-1', kind: 'noise', district: 'Lixia', lat: 36.6, lon: 117, station: 'Quancheng Residential', zoneClass: '1' };
  const feed = (p: NoiseProcessor, from: number, count: number, laeq: number, lamax?: number) => {
    for (let i = 0; i < count; i++) p.apply(record(station as NodeOf<'noise'>, { ts: from + i * 60_000, laeq, lamax, periodS: 60 }));
  };

  it('judges the closed night hour (23:00-24:00, crossing into the next day) against the night limit', () => {
    const p = new NoiseProcessor();
    const m = new NoiseMerger();
    feed(p, at('2026-06-21T23:00:00'), 60, 48);
    const { kpis, conditions } = evaluateWhole(p, m, ctx([station], at('2026-06-22T00:10:00')));
    const last = (kpis.list as { lastHour: { period: string; leq: number; limit: number; complete: boolean; exceeds: boolean } }[])[0]!.lastHour;
    expect(last).toMatchObject({ period: 'night', leq: 48, limit: 45, complete: true, exceeds: true });
    expect(conditions.map((c) => c.alertname)).toEqual(['NoiseOverLimit']);
    expect(kpis).toMatchObject({ complete: 1, compliant: 0, complianceRate: 0 });
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
    feed(p, at('2026-06-21T10:00:00'), 60, 50);
    feed(p, at('2026-06-21T10:00:00'), 1, 50); // replay of the first minute
    const last = p.hour(station as NodeOf<'noise'>, at('2026-06-21T10:00:00'), 0.75);
    expect(last.coverage).toBe(1);
    expect(last.leq).toBe(50);
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
