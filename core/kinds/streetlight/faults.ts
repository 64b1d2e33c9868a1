import type { StreetlightReading } from '../../index.js';
import type { LampCondition } from './lamp.js';

/** Supply voltage outside this band is a fault (domain rule for single-lamp controllers). */
export const SUPPLY_MIN_V = 180;
export const SUPPLY_MAX_V = 265;

export type LampFaultReason = 'fault-code' | 'under-power' | 'supply-voltage' | 'lost-contact';

/**
 * Whether a lamp has an open fault, for the facility intact rate: a fault code reported, under
 * 80 % of rated power while on, supply voltage outside 180-265 V, or lost contact (silent past its
 * interval x grace). A lamp never heard from during warm-up (`unknown`) has no known fault.
 */
export function openFault(latest: StreetlightReading | undefined, condition: LampCondition): LampFaultReason | null {
  if (condition === 'unknown') return null;
  if (condition === 'no-report' || !latest) return 'lost-contact';
  if (latest.faults && latest.faults.length > 0) return 'fault-code';
  if (condition === 'under-power') return 'under-power';
  if (latest.voltageV !== undefined && (latest.voltageV < SUPPLY_MIN_V || latest.voltageV > SUPPLY_MAX_V)) return 'supply-voltage';
  return null;
}
