import type { Config, Kind, KindCatalog } from '../core/index.js';
import { GroundwaterProcessor } from '../core/kinds/groundwater/processor.js';
import { LightingProcessor } from '../core/kinds/streetlight/processor.js';
import { NoiseProcessor } from '../core/kinds/noise/processor.js';
import { ParkingProcessor } from '../core/kinds/parking/processor.js';
import { ProfileProcessor } from './profile/processor.js';
import type { KindProcessor } from './types.js';

export type Processors = { [K in Kind]: KindProcessor<K> };

/** One stateful processor per built-in kind (typed: a kind added to KINDS and not here does not compile). */
export function createKindProcessors(config: Config): Processors {
  return {
    streetlight: new LightingProcessor(),
    groundwater: new GroundwaterProcessor(config.GROUNDWATER_HYSTERESIS_M),
    noise: new NoiseProcessor(),
    // A parking session can be corrected by a reading as late as the log still accepts.
    parking: new ParkingProcessor({ reorderWindowMs: config.ALLOWED_LATENESS_S * 1000 }),
  };
}

/** One processor per kind of the catalog: the built-in ones, and one per profile kind (the host's, and tools'). */
export function processorsFor(config: Config, kinds: KindCatalog): Map<string, KindProcessor> {
  const map = new Map<string, KindProcessor>(Object.entries(createKindProcessors(config)) as [string, KindProcessor][]);
  for (const profile of kinds.profiles()) map.set(profile.kind, new ProfileProcessor(profile));
  return map;
}
