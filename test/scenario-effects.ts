import type { GroundwaterEffects } from '../core/kinds/groundwater/scenarios.js';
import type { NoiseEffects } from '../core/kinds/noise/scenarios.js';
import type { ParkingEffects } from '../core/kinds/parking/scenarios.js';
import type { LightingEffects } from '../core/kinds/streetlight/scenarios.js';
import type { ProfileTarget, ScenarioState } from '../simulators/models/context.js';

/**
 * A scenario's effects as the tests read them: each built-in kind's (empty when it takes no part)
 * and every profile kind's targets in one map.
 */
export function effects(state: ScenarioState) {
  const of = <E>(kind: string) => state.effects.get(kind) as Partial<E> | undefined;
  const profileTargets = new Map<string, ProfileTarget>();
  for (const [kind, e] of state.effects)
    if (!['streetlight', 'groundwater', 'noise', 'parking'].includes(kind))
      for (const [id, t] of e as Map<string, ProfileTarget>) profileTargets.set(id, t);
  return {
    darkCircuits: of<LightingEffects>('streetlight')?.darkCircuits ?? new Set<string>(),
    wellTargets: of<GroundwaterEffects>('groundwater')?.wellTargets ?? new Map<string, number>(),
    fallingWells: of<GroundwaterEffects>('groundwater')?.fallingWells ?? new Map<string, number>(),
    noisyStations: of<NoiseEffects>('noise')?.noisyStations ?? new Map<string, 'night' | 'always'>(),
    fullLots: of<ParkingEffects>('parking')?.fullLots ?? new Set<string>(),
    profileTargets,
  };
}
