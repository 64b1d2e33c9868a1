import { describe, expect, it } from 'vitest';
import { lampTimetable, lightingSchedule, parseClockTime, restsAtHalfNight } from './lighting-schedule.js';

const at = (local: string) => Date.parse(`${local}+08:00`);
const city = { lat: 36.65, lon: 117.12, onOffsetMin: 0, offOffsetMin: 0 };

describe('lamp switching schedule', () => {
  it('is on through a night that crosses midnight in Asia/Shanghai', () => {
    expect(lightingSchedule(at('2026-06-21T19:20:00'), city).on).toBe(false); // before sunset 19:33
    expect(lightingSchedule(at('2026-06-21T19:40:00'), city).on).toBe(true);
    expect(lightingSchedule(at('2026-06-21T23:59:00'), city).on).toBe(true);
    expect(lightingSchedule(at('2026-06-22T00:01:00'), city).on).toBe(true);
    expect(lightingSchedule(at('2026-06-22T04:45:00'), city).on).toBe(true); // before sunrise 04:53
    expect(lightingSchedule(at('2026-06-22T05:00:00'), city).on).toBe(false);
    expect(lightingSchedule(at('2026-06-22T12:00:00'), city).on).toBe(false);
  });

  it('shifts switching by the configured offsets', () => {
    const late = { ...city, onOffsetMin: 15, offOffsetMin: -15 };
    expect(lightingSchedule(at('2026-06-21T19:40:00'), late).on).toBe(false); // sunset + 15 = 19:48
    expect(lightingSchedule(at('2026-06-21T19:50:00'), late).on).toBe(true);
    expect(lightingSchedule(at('2026-06-22T04:45:00'), late).on).toBe(false); // sunrise - 15 = 04:38
  });
});

describe('half-night mode', () => {
  const half = { ...city, halfNight: true, summerStartMin: 23 * 60 + 30, winterStartMin: 22 * 60 + 30 };

  it('starts 23:30 in summer and lasts across midnight until the morning switch-off', () => {
    // 2026-06-21: sunset 19:33, sunrise 2026-06-22 04:53.
    expect(lampTimetable(at('2026-06-21T22:00:00'), half)).toMatchObject({
      on: true,
      halfNight: false,
      halfNightFrom: at('2026-06-21T23:30:00'),
    });
    expect(lampTimetable(at('2026-06-21T23:29:59'), half).halfNight).toBe(false);
    expect(lampTimetable(at('2026-06-21T23:30:00'), half).halfNight).toBe(true);
    // After midnight the night still belongs to the evening of the 21st.
    expect(lampTimetable(at('2026-06-22T00:01:00'), half)).toMatchObject({
      on: true,
      halfNight: true,
      halfNightFrom: at('2026-06-21T23:30:00'),
    });
    expect(lampTimetable(at('2026-06-22T04:45:00'), half).halfNight).toBe(true);
    expect(lampTimetable(at('2026-06-22T05:00:00'), half)).toMatchObject({ on: false, halfNight: false, halfNightFrom: null });
    expect(lampTimetable(at('2026-06-22T12:00:00'), half).halfNight).toBe(false);
  });

  it('starts 22:30 in winter (October to March) and ends at the switch-off', () => {
    // 2026-12-21: sunset 16:59, sunrise 2026-12-22 07:20.
    expect(lampTimetable(at('2026-12-21T22:29:00'), half).halfNight).toBe(false);
    expect(lampTimetable(at('2026-12-21T22:30:00'), half).halfNight).toBe(true);
    expect(lampTimetable(at('2026-12-22T07:00:00'), half)).toMatchObject({ halfNight: true, halfNightFrom: at('2026-12-21T22:30:00') });
    expect(lampTimetable(at('2026-12-22T07:30:00'), half).halfNight).toBe(false);
    // The season is the evening's: 30 September is summer (23:30), 1 October winter (22:30).
    expect(lampTimetable(at('2026-09-30T23:00:00'), half).halfNight).toBe(false);
    expect(lampTimetable(at('2026-10-01T23:00:00'), half).halfNight).toBe(true);
  });

  it('is never active when switched off, and a start after midnight belongs to the next day', () => {
    expect(lampTimetable(at('2026-06-22T01:00:00'), { ...half, halfNight: false })).toMatchObject({
      on: true,
      halfNight: false,
      halfNightFrom: null,
    });
    const late = { ...half, summerStartMin: 15 };
    expect(lampTimetable(at('2026-06-21T23:50:00'), late)).toMatchObject({ halfNight: false, halfNightFrom: at('2026-06-22T00:15:00') });
    expect(lampTimetable(at('2026-06-22T00:20:00'), late).halfNight).toBe(true);
  });

  it('rests every other lamp by its number, and parses HH:MM', () => {
    expect(['SL-LX-000001', 'SL-LX-000002', 'SL-7', 'SL-8'].map(restsAtHalfNight)).toEqual([false, true, false, true]);
    expect(typeof restsAtHalfNight('lamp-without-number')).toBe('boolean');
    expect(parseClockTime('23:30')).toBe(1410);
    expect(parseClockTime('0:15')).toBe(15);
    expect(() => parseClockTime('24:00')).toThrow(/HH:MM/);
  });
});
