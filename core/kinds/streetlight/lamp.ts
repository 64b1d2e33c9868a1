import type { StreetlightReading } from '../../index.js';

/** `unknown`: never heard from, and the pipeline has not listened long enough to call it silent. */
export type LampCondition = 'lit' | 'no-report' | 'reported-off' | 'under-power' | 'unknown';

/** Share of the expected power below which a lamp that says it is on counts as failed (domain rule). */
export const UNDER_POWER_RATIO = 0.8;

/**
 * Whether a lamp is lit, from its latest reading. A lamp that does not report (or whose report is
 * stale) is not lit; a lamp that reports on but draws under 80 % of its rated power (scaled by its
 * dimming level) is a failed lamp, not a lit one.
 */
export function lampCondition(latest: StreetlightReading | undefined, fresh: boolean, ratedW: number): LampCondition {
  if (!latest || !fresh) return 'no-report';
  if (latest.powerState === 'off') return 'reported-off';
  if (latest.powerW !== undefined) {
    const level = latest.dim ?? (latest.powerState === 'low' ? undefined : 100);
    if (level !== undefined && latest.powerW < UNDER_POWER_RATIO * ratedW * (level / 100)) return 'under-power';
  }
  return 'lit';
}

export interface RateCount {
  lit: number;
  expected: number;
}

/** Lighting rate = lamps lit / lamps that should be lit; null when nothing should be lit. */
export function lightingRate(c: RateCount): number | null {
  return c.expected === 0 ? null : c.lit / c.expected;
}
