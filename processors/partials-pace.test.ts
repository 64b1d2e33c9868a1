import { describe, expect, it } from 'vitest';
import { BEHIND_MS, CAUGHT_UP_MS, PartialsPace } from './partials-pace.js';

describe('when partials follow the readings', () => {
  it('on the embedded logs: after every batch, as changes, however old its readings', () => {
    const pace = new PartialsPace({ stateIn: 'files' }, () => 100_000);
    expect([pace.afterReadings(99_990), pace.afterReadings(0), pace.deltas]).toEqual([true, true, true]);
  });

  it('on Kafka: while the stage keeps up; behind, on the beat and whole, until it has caught up again', () => {
    const now = 100_000;
    const pace = new PartialsPace({ stateIn: 'log' }, () => now);
    const after = (ageMs: number) => [pace.afterReadings(now - ageMs), pace.deltas];
    expect(after(50)).toEqual([true, true]);
    expect(after(BEHIND_MS)).toEqual([true, true]);
    expect(after(BEHIND_MS + 1)).toEqual([false, false]);
    // Within the band: still behind (a backlog drains in batches of mixed ages).
    expect(after(CAUGHT_UP_MS + 1)).toEqual([false, false]);
    expect(after(CAUGHT_UP_MS)).toEqual([true, true]);
    expect(after(BEHIND_MS)).toEqual([true, true]);
  });
});
