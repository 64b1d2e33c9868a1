import { shuffled, uniq } from '../../../simulators/picks.js';
import type { KindScenarios } from '../module.js';

/** What a scenario does to the detectors and lots. */
export interface ParkingEffects {
  /** Share of detectors with a weak battery (2/3 low band 2.9-3.0 V, 1/3 critical under 2.9 V). */
  lowBatteryShare: number;
  /** Lots whose every space is occupied. */
  fullLots: ReadonlySet<string>;
  /** Every lot sees rush-hour demand whatever the hour. */
  rushDemand: boolean;
}

const TUNING = {
  /** Share of parking detectors with a low battery. */
  lowBatteryShare: 0.003,
  /** parking-rush: share of lots that are completely full (at least one). */
  fullLotShare: 0.25,
};

export const HEALTHY_PARKING: ParkingEffects = { lowBatteryShare: TUNING.lowBatteryShare, fullLots: new Set(), rushDemand: false };

export const parkingScenarios: KindScenarios<'parking', ParkingEffects, typeof TUNING> = {
  descriptions: {
    normal: 'occupancy by the hour, ~0.3 % of the detectors on a weak battery',
    'parking-rush': 'rush-hour demand everywhere and about a quarter of the lots completely full',
    demo: 'one lot completely full',
  },
  tuning: TUNING,
  build(parts, spaces, rand, tuning) {
    const fullLots = new Set<string>();
    const lots = uniq(spaces.map((s) => s.lotId));
    let rushDemand = false;
    for (const part of parts) {
      if (part === 'parking-rush') {
        rushDemand = true;
        for (const lot of shuffled(lots, rand).slice(0, Math.max(1, Math.round(lots.length * tuning.fullLotShare)))) fullLots.add(lot);
      } else if (part === 'demo' && lots[0]) fullLots.add(lots[0]);
    }
    return { lowBatteryShare: tuning.lowBatteryShare, fullLots, rushDemand };
  },
};
