import { describe, expect, it } from 'vitest';
import { lightingSchedule } from './lighting-schedule.js';

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
