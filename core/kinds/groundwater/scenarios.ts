import type { NodeOf } from '../../index.js';
import type { KindScenarios } from '../module.js';

/** What a scenario does to the wells: levels they sit at, wells pumped down (m a day). */
export interface GroundwaterEffects {
  wellTargets: ReadonlyMap<string, number>;
  fallingWells: ReadonlyMap<string, number>;
}

const TUNING = {
  /**
   * demo: cm a day the falling well drops. Above the steepest rise of the daily swing (about
   * 13 cm/day for a 2 cm swing) plus sensor noise, so its 24 h trend falls at any hour of the day.
   */
  fallingWellCmPerDay: 30,
};

export const HEALTHY_WELLS: GroundwaterEffects = { wellTargets: new Map(), fallingWells: new Map() };

/** Between orange and red (Baotu: 27.9 m), or between yellow and orange. */
export function droughtLevel(node: NodeOf<'groundwater'>, deep: boolean): number {
  const { yellow, orange, red } = node.lines;
  return deep ? Math.max(orange - 0.1, (orange + red) / 2) : (yellow + orange) / 2;
}

export const groundwaterScenarios: KindScenarios<'groundwater', GroundwaterEffects, typeof TUNING> = {
  descriptions: {
    normal: 'wells above their yellow lines',
    'spring-drought': 'every well below its yellow line, half of them below orange (Baotu about 27.9 m)',
    demo: 'Baotu Spring (or the first well) in its orange band, another well falling fast (pumping nearby)',
  },
  tuning: TUNING,
  build(parts, wells, _rand, tuning) {
    const wellTargets = new Map<string, number>();
    const fallingWells = new Map<string, number>();
    for (const part of parts) {
      if (part === 'spring-drought') {
        wells.forEach((w, i) => wellTargets.set(w.nodeId, droughtLevel(w, i % 2 === 0)));
      } else if (part === 'demo') {
        const well = wells.find((w) => w.well === 'Baotu Spring') ?? wells[0];
        if (well) wellTargets.set(well.nodeId, droughtLevel(well, true));
        // Another well falling fast (GroundwaterFallingFast, and a projected time to its next line).
        const pumped = wells.find((w) => w !== well);
        if (pumped) fallingWells.set(pumped.nodeId, tuning.fallingWellCmPerDay / 100);
      }
    }
    return { wellTargets, fallingWells };
  },
};
