import { z } from 'zod';
import { districtName, ROAD_CLASSES, type RoadClass } from '../kinds/index.js';

/** A road of the lighting design: how many lamp positions it is designed for (installation rate). */
export const roadSchema = z.object({
  road: z.string().min(1).max(200),
  roadClass: z.enum(ROAD_CLASSES),
  district: districtName,
  designedPositions: z.number().int().nonnegative(),
});
export type RoadDesign = z.output<typeof roadSchema>;

/** One road's installation: designed positions and lamps installed on it (capped at designed). */
export interface RoadInstallation extends RoadDesign {
  /** Lamps registered on the road. */
  lamps: number;
  /** Installed positions: lamps, at most the designed positions. */
  installed: number;
}

interface LampOnRoad {
  road: string;
  roadClass: RoadClass;
  district: string;
}

/**
 * Every road with its installation: the declared roads, plus roads that only appear on lamps
 * (registries without a road list: their designed positions are the lamps installed). A declared
 * road with designed positions and no lamp installs 0 of them: 0 %.
 */
export function roadInstallations(declared: readonly RoadDesign[], lamps: Iterable<LampOnRoad>): RoadInstallation[] {
  const out = new Map<string, RoadInstallation>();
  for (const r of declared) out.set(r.road, { ...r, lamps: 0, installed: 0 });
  const derived = new Set<string>();
  for (const lamp of lamps) {
    let r = out.get(lamp.road);
    if (!r) {
      out.set(
        lamp.road,
        (r = { road: lamp.road, roadClass: lamp.roadClass, district: lamp.district, designedPositions: 0, lamps: 0, installed: 0 }),
      );
      derived.add(lamp.road);
    }
    r.lamps++;
    if (derived.has(lamp.road)) r.designedPositions++;
  }
  for (const r of out.values()) r.installed = Math.min(r.lamps, r.designedPositions);
  return [...out.values()];
}
