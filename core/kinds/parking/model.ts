import type { NodeOf, ParkingReading } from '../../index.js';
import { localHour } from '../../time/index.js';
import { clamp, gauss, hashString, nodeHash, round, unit } from '../../../simulators/hash.js';
import { effectsOf, rssiOf, S, type ModelContext } from '../../../simulators/models/context.js';
import { HEALTHY_PARKING } from './scenarios.js';

/** Share of spaces occupied by local hour: morning rush 8-9, evening rush 17-19 fullest. */
export const PARKING_DEMAND = [
  0.35, 0.33, 0.32, 0.32, 0.33, 0.38, 0.5, 0.7, 0.85, 0.85, 0.68, 0.66, 0.64, 0.64, 0.66, 0.68, 0.72, 0.85, 0.87, 0.82, 0.62, 0.55, 0.48,
  0.4,
];

/** Probability a space of this lot is occupied at time t. */
export function occupancyProbability(node: NodeOf<'parking'>, t: number, ctx: ModelContext): number {
  const effects = effectsOf(ctx, 'parking', HEALTHY_PARKING);
  if (effects.fullLots.has(node.lotId)) return 1;
  const lotOffset = -0.15 + 0.2 * unit(hashString(node.lotId, ctx.seed), S.LOT);
  const demand = PARKING_DEMAND[localHour(t)]!;
  if (effects.rushDemand) return clamp(Math.max(demand, 0.87) + lotOffset, 0.02, 0.94);
  return clamp(demand + lotOffset, 0.02, 0.9);
}

/** Each space holds its state for slots of 20-50 min (a parking session or a gap); offset per space. */
function slotOf(node: NodeOf<'parking'>, seed: number): { len: number; off: number } {
  const h = nodeHash(node.nodeId, seed);
  const len = 1_200_000 + Math.floor(1_800_000 * unit(h, S.SLOT_LEN));
  return { len, off: Math.floor(len * unit(h, S.SLOT_OFF)) };
}

/** Whether the space is occupied at t (constant within a slot; the demand of the slot's start decides). */
export function parkingOccupied(node: NodeOf<'parking'>, t: number, ctx: ModelContext): boolean {
  const { len, off } = slotOf(node, ctx.seed);
  const k = Math.floor((t + off) / len);
  const p = occupancyProbability(node, k * len - off, ctx);
  if (p >= 1) return true;
  return unit(nodeHash(node.nodeId, ctx.seed), S.OCCUPIED, k) < p;
}

/** The next instant after t at which the space may change state (a slot boundary). */
export function parkingNextBoundary(node: NodeOf<'parking'>, t: number, seed: number): number {
  const { len, off } = slotOf(node, seed);
  return (Math.floor((t + off) / len) + 1) * len - off;
}

export function isLowBattery(node: NodeOf<'parking'>, ctx: ModelContext): boolean {
  return unit(nodeHash(node.nodeId, ctx.seed), S.LOW_BATTERY) < effectsOf(ctx, 'parking', HEALTHY_PARKING).lowBatteryShare;
}

/**
 * A geomagnetic detector message: an event on change (`heartbeat: false`) or a periodic heartbeat
 * with the state and the battery (about 3.3 V; a small share low, 2.9-3.0 V, or critical, under 2.9 V).
 */
export function parkingModel(node: NodeOf<'parking'>, t: number, ctx: ModelContext, heartbeat = true): ParkingReading {
  const h = nodeHash(node.nodeId, ctx.seed);
  const sec = Math.floor(t / 1000);
  const status = parkingOccupied(node, t, ctx) ? 'occupied' : 'free';
  if (!heartbeat) return { ts: t, status, heartbeat: false, rssi: rssiOf(h, sec) };
  // Low-battery detectors: two in three in the low band (2.91-2.99 V), one in three critical (2.84-2.89 V).
  const u = unit(h, S.BATTERY);
  const base = isLowBattery(node, ctx) ? (u < 2 / 3 ? 2.91 + 0.12 * u : 2.84 + 0.15 * (u - 2 / 3)) : 3.25 + 0.1 * u;
  const batteryV = round(clamp(base + gauss(h, S.BATTERY_V, sec) * 0.005, 2.5, 3.6), 3);
  const battery = round(clamp((batteryV - 2.8) / 0.6, 0, 1), 2);
  return { ts: t, status, heartbeat: true, batteryV, battery, rssi: rssiOf(h, sec) };
}
