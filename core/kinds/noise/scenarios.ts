import type { NodeOf } from '../../index.js';
import type { KindScenarios } from '../module.js';

/** What a scenario does to the stations: construction noise, at night or day and night. */
export interface NoiseEffects {
  noisyStations: ReadonlyMap<string, 'night' | 'always'>;
}

export const HEALTHY_STATIONS: NoiseEffects = { noisyStations: new Map() };

/** The station a scenario makes noisy: residential (class 1) first. */
function pickNoisyStation(nodes: readonly NodeOf<'noise'>[]): NodeOf<'noise'> | undefined {
  for (const zone of ['1', '0', '2', '3', '4a', '4b'] as const) {
    const found = nodes.find((n) => n.zoneClass === zone);
    if (found) return found;
  }
  return undefined;
}

export const noiseScenarios: KindScenarios<'noise', NoiseEffects, Record<string, never>> = {
  descriptions: {
    normal: 'under the GB 3096 limits',
    'night-construction': 'a residential station far over its night limit, LAmax peaks more than 15 dB over it',
    demo: 'a residential station with construction noise day and night',
  },
  tuning: {},
  build(parts, stations) {
    const noisyStations = new Map<string, 'night' | 'always'>();
    const station = pickNoisyStation(stations);
    for (const part of parts) {
      if (!station) break;
      if (part === 'night-construction' && !noisyStations.has(station.nodeId)) noisyStations.set(station.nodeId, 'night');
      else if (part === 'demo') noisyStations.set(station.nodeId, 'always');
    }
    return { noisyStations };
  },
};
