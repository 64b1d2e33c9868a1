import { describe, expect, it } from 'vitest';
import { hourStart, localDate, localDayStart, localHour, noisePeriod, sunDay } from './city-time.js';

const at = (local: string) => Date.parse(`${local}+08:00`);

describe('Asia/Shanghai time', () => {
  it('reads local hours and days from UTC instants', () => {
    expect(localHour(Date.parse('2026-06-21T15:30:00Z'))).toBe(23);
    expect(localDate(Date.parse('2026-06-21T16:30:00Z'))).toBe('2026-06-22');
    expect(localDayStart(at('2026-06-22T00:30:00'))).toBe(Date.parse('2026-06-21T16:00:00Z'));
    expect(hourStart(at('2026-06-22T00:59:59'))).toBe(at('2026-06-22T00:00:00'));
  });

  it('puts the GB 3096 night (22:00-06:00) across midnight', () => {
    expect(noisePeriod(at('2026-06-21T21:59:59'))).toBe('day');
    expect(noisePeriod(at('2026-06-21T22:00:00'))).toBe('night');
    expect(noisePeriod(at('2026-06-21T23:59:00'))).toBe('night');
    expect(noisePeriod(at('2026-06-22T00:00:00'))).toBe('night');
    expect(noisePeriod(at('2026-06-22T05:59:59'))).toBe('night');
    expect(noisePeriod(at('2026-06-22T06:00:00'))).toBe('day');
  });

  it('computes sunrise and sunset at the city (36.65 N, 117.12 E)', () => {
    // Published local times for Jinan: 2026-06-21 about 04:53 / 19:33; 2026-12-21 about 07:20 / 16:59.
    const summer = sunDay(at('2026-06-21T12:00:00'), 36.65, 117.12);
    expect(Math.abs(summer.sunrise - at('2026-06-21T04:53:00'))).toBeLessThan(3 * 60_000);
    expect(Math.abs(summer.sunset - at('2026-06-21T19:33:00'))).toBeLessThan(3 * 60_000);
    const winter = sunDay(at('2026-12-21T01:00:00'), 36.65, 117.12);
    expect(Math.abs(winter.sunrise - at('2026-12-21T07:20:00'))).toBeLessThan(3 * 60_000);
    expect(Math.abs(winter.sunset - at('2026-12-21T16:59:00'))).toBeLessThan(3 * 60_000);
  });
});
