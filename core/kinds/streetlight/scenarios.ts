import { shuffled, uniq } from '../../../simulators/picks.js';
import type { KindScenarios } from '../module.js';

/** What a scenario does to the lamps: a share of faulty lamps, circuits without supply. */
export interface LightingEffects {
  faultyLampShare: number;
  darkCircuits: ReadonlySet<string>;
}

const TUNING = {
  /** circuit-dark: how many circuits go dark. */
  darkCircuits: 3,
  /** Share of lamps with a permanent fault (deterministic per node). */
  faultyLampShare: 0.005,
};

export const HEALTHY_LAMPS: LightingEffects = { faultyLampShare: TUNING.faultyLampShare, darkCircuits: new Set() };

export const lightingScenarios: KindScenarios<'streetlight', LightingEffects, typeof TUNING> = {
  descriptions: {
    normal: 'lamps on from sunset to sunrise, ~0.5 % faulty lamps',
    'circuit-dark': 'every lamp of a few circuits reports off (supply lost)',
    demo: 'one dark circuit on a main road (CircuitDark, and the main-road lighting rate under 99 %)',
  },
  tuning: TUNING,
  build(parts, lamps, rand, tuning) {
    const darkCircuits = new Set<string>();
    const circuits = uniq(lamps.map((l) => l.circuit));
    for (const part of parts) {
      if (part === 'circuit-dark') {
        for (const c of shuffled(circuits, rand).slice(0, Math.max(1, tuning.darkCircuits))) darkCircuits.add(c);
      } else if (part === 'demo') {
        const main = uniq(lamps.filter((l) => l.roadClass === 'main' || l.roadClass === 'expressway').map((l) => l.circuit));
        const circuit = (main.length > 0 ? main : circuits)[0];
        if (circuit) darkCircuits.add(circuit);
      }
    }
    return { faultyLampShare: tuning.faultyLampShare, darkCircuits };
  },
};
