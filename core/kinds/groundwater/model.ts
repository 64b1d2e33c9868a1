import type { GroundwaterReading, NodeOf } from '../../index.js';
import { CITY_UTC_OFFSET_MS } from '../../time/index.js';
import { clamp, gauss, nodeHash, round, unit } from '../../../simulators/hash.js';
import { effectsOf, rssiOf, S, type ModelContext } from '../../../simulators/models/context.js';
import { HEALTHY_WELLS } from './scenarios.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** A healthy well sits 40-55 cm above its yellow line (Baotu: about 28.6 m). */
export function wellBaseLevel(node: NodeOf<'groundwater'>, seed: number): number {
  return node.lines.yellow + 0.4 + 0.15 * unit(nodeHash(node.nodeId, seed), S.WELL_BASE);
}

/**
 * Seasonal trend in m/day: the dry season (October to June) falls a few mm a day, the rainy
 * season (July to September) recovers.
 */
export function seasonalRateMPerDay(t: number): number {
  const month = new Date(t + CITY_UTC_OFFSET_MS).getUTCMonth() + 1;
  return month >= 7 && month <= 9 ? 0.008 : -0.003;
}

/** Level in metres above sea level at time t, without sensor noise. */
export function groundwaterLevel(node: NodeOf<'groundwater'>, t: number, ctx: ModelContext): number {
  const h = nodeHash(node.nodeId, ctx.seed);
  const hourOfDay = ((((t + CITY_UTC_OFFSET_MS) % DAY) + DAY) % DAY) / HOUR;
  // 3-4 cm within a day, highest in the morning (about 07:00).
  const amplitude = 0.015 + 0.005 * unit(h, S.SWING);
  const daily = amplitude * Math.cos((2 * Math.PI * (hourOfDay - 7)) / 24);
  const days = (t - ctx.scenario.start) / DAY;
  const effects = effectsOf(ctx, 'groundwater', HEALTHY_WELLS);
  const falling = effects.fallingWells.get(node.nodeId);
  // A pumped well falls steadily until it sits a little under its red line.
  const fall = falling === undefined ? 0 : Math.max(0, falling * days);
  const target = effects.wellTargets.get(node.nodeId);
  const level = target !== undefined ? target : wellBaseLevel(node, ctx.seed) + clamp(seasonalRateMPerDay(t) * days, -0.25, 0.25);
  return Math.max(level - fall, falling === undefined ? -Infinity : node.lines.red - 0.3) + daily;
}

/** One observation-well reading: level with about 1 cm of sensor noise, water temperature near 18 C. */
export function groundwaterModel(node: NodeOf<'groundwater'>, t: number, ctx: ModelContext): GroundwaterReading {
  const h = nodeHash(node.nodeId, ctx.seed);
  const sec = Math.floor(t / 1000);
  const noise = clamp(gauss(h, S.WELL_NOISE, sec) * 0.005, -0.012, 0.012);
  const waterTableM = round(groundwaterLevel(node, t, ctx) + noise, 3);
  const tempC = round(17.6 + 0.8 * unit(h, S.TEMP_BASE) + gauss(h, S.TEMP, sec) * 0.03, 2);
  const battery = round(0.82 + 0.17 * unit(h, S.BATTERY), 2);
  return { ts: t, waterTableM, tempC, battery, rssi: rssiOf(h, sec) };
}
