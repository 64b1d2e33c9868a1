export type LotState = 'normal' | 'nearly-full' | 'full' | 'unknown';

export interface LotCount {
  spaces: number;
  occupied: number;
  free: number;
}

/**
 * Occupancy of the spaces whose state is known: a detector that missed its heartbeats makes its
 * space unknown, never free, so it is left out of both the count and the denominator.
 */
export function occupancy(c: LotCount): number | null {
  const known = c.occupied + c.free;
  return known === 0 ? null : c.occupied / known;
}

export function lotState(rate: number | null, nearlyFull: number, full: number): LotState {
  if (rate === null) return 'unknown';
  if (rate >= full) return 'full';
  if (rate >= nearlyFull) return 'nearly-full';
  return 'normal';
}
