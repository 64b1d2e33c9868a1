import type { RoadClass } from '../../index.js';

const BRANCH: ReadonlySet<RoadClass> = new Set(['branch', 'alley']);

export interface RoadRuleConfig {
  LIGHTING_ROAD_FLOOR_MAIN: number;
  LIGHTING_ROAD_FLOOR_BRANCH: number;
  /** [max lamps, dark lamps allowed], ascending by road size. */
  LIGHTING_ROAD_MAX_DARK: [number, number][];
}

export interface RoadJudgement {
  compliant: boolean;
  /** `max-dark:N` (a small road: at most N dark lamps) or `floor:R` (rate at least R). */
  rule: string;
}

/**
 * The per-road small-road rule: a road with few lamps (the ladder, by default <= 99 lamps: 2 dark
 * allowed, 100-149: 3, 150-199: 4) is judged by its count of dark lamps; a larger road by the
 * per-road floor of its class (97 % main, 95 % branch by default). `lamps`: lamps that should be lit.
 */
export function judgeRoad(roadClass: RoadClass, lamps: number, dark: number, c: RoadRuleConfig): RoadJudgement {
  const step = c.LIGHTING_ROAD_MAX_DARK.find(([max]) => lamps <= max);
  if (step) return { compliant: dark <= step[1], rule: `max-dark:${step[1]}` };
  const floor = BRANCH.has(roadClass) ? c.LIGHTING_ROAD_FLOOR_BRANCH : c.LIGHTING_ROAD_FLOOR_MAIN;
  // Compared on counts with a small tolerance: 194 of 200 lit meets a 97 % floor exactly.
  return { compliant: lamps - dark >= floor * lamps - 1e-9, rule: `floor:${floor}` };
}
