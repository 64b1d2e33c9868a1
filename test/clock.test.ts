import { describe, expect, it } from 'vitest';
import { lightingSchedule } from '../core/time/index.js';
import { latestLocalTime, localClock, parseLocalTime } from './clock.js';

const wall = Date.parse('2026-12-05T21:08:00Z'); // 05:08 on 6 December, city local time
const start = (text: string) => latestLocalTime(parseLocalTime(text), wall);
const schedule = (ts: number) => lightingSchedule(ts, { lat: 36.65, lon: 117.12, onOffsetMin: 0, offOffsetMin: 0 });

describe('the test clock', () => {
  it('puts the start at the latest instant with that local time at least 3 h before the wall clock', () => {
    expect(new Date(start('22:30')).toISOString()).toBe('2026-12-05T14:30:00.000Z'); // 22:30 on the 5th
    expect(new Date(start('02:08')).toISOString()).toBe('2026-12-05T18:08:00.000Z'); // exactly 3 h before
    expect(new Date(start('02:09')).toISOString()).toBe('2026-12-04T18:09:00.000Z'); // a minute too late: the day before
    expect(new Date(start('23:59')).toISOString()).toBe('2026-12-05T15:59:00.000Z');
    expect(localClock(start('09:00'))).toBe('09:00');
  });

  it("dusk-N is N minutes before that day's lamp switch-on", () => {
    const before = start('dusk-2');
    expect(schedule(before).on).toBe(false);
    expect(schedule(before + 2 * 60_000).on).toBe(true);
    expect(schedule(before).switchOn - before).toBe(2 * 60_000);
    expect(localClock(before) >= '16:50' && localClock(before) <= '17:20').toBe(true); // early December sunset
    expect(start('dusk+10') - start('dusk')).toBe(10 * 60_000);
  });

  it('refuses anything else, naming the variable', () => {
    for (const bad of ['24:00', '9:00', 'noon', 'dusk-', '']) expect(() => parseLocalTime(bad)).toThrow(/CITY_BRAIN_TEST_TIME=/);
  });
});
