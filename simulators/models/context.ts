import type { KindCatalog, SimulatedValue } from '../../core/index.js';
import { clamp, gauss, unit } from '../hash.js';

/**
 * What a reading model needs besides the node and the simulated time: the seed and the effects of
 * the running scenario. Built once per simulation by `buildScenario` (../scenarios.ts).
 */
export interface ScenarioState {
  /** The scenario as asked for, e.g. `demo` or `circuit-dark+bad-payloads`. */
  name: string;
  /** Simulated start time (epoch ms): anchors slow trends and cumulative counters. */
  start: number;
  /** Each kind's effects, by kind name (its module's `scenarios.build`); a kind without an entry is healthy. */
  effects: ReadonlyMap<string, unknown>;
  /** One gateway that goes silent, buffers, and replays. */
  outage?: { gatewayId: string; from: number; to: number };
  /** Extra malformed/invalid messages sent per valid reading (0..1). */
  badShare: number;
}

/** One node's part in a scenario of its kind's profile (`simulate.scenarios.<name>`). */
export interface ProfileTarget {
  scenario: string;
  values: Readonly<Record<string, SimulatedValue>>;
  rampS: number;
}

export interface ModelContext {
  seed: number;
  scenario: ScenarioState;
}

/** What `generateReading` needs: a model context, and where each node's kind module (its model) is looked up. */
export interface SimulationContext extends ModelContext {
  kinds: KindCatalog;
}

/** A scenario with no effects: the healthy city. */
export function normalState(start: number): ScenarioState {
  return { name: 'normal', start, effects: new Map(), badShare: 0 };
}

/** A kind's effects in the running scenario, or `healthy` when no scenario touches it. */
export function effectsOf<E>(ctx: ModelContext, kind: string, healthy: E): E {
  return (ctx.scenario.effects.get(kind) as E | undefined) ?? healthy;
}

/** Salts: one per purpose, so values drawn for different things are independent. */
export const S = {
  FAULT: 1,
  FAULT_TYPE: 2,
  VOLT_BASE: 3,
  VOLT: 4,
  POWER: 5,
  PF: 6,
  ENERGY: 7,
  LOW_POWER: 8,
  RSSI_BASE: 9,
  RSSI: 10,
  WELL_BASE: 11,
  SWING: 12,
  WELL_NOISE: 13,
  TEMP_BASE: 14,
  TEMP: 15,
  BATTERY: 16,
  NOISE_OFFSET: 17,
  LAEQ: 18,
  L90: 19,
  L50: 20,
  L10: 21,
  LAMAX: 22,
  LAMIN: 23,
  LOT: 24,
  SLOT_LEN: 25,
  SLOT_OFF: 26,
  OCCUPIED: 27,
  LOW_BATTERY: 28,
  BATTERY_V: 29,
} as const;

/** Signal strength: a per-node base between -70 and -100 dBm with a little jitter, integer dBm. */
export function rssiOf(h: number, key: number): number {
  const base = -70 - 30 * unit(h, S.RSSI_BASE);
  return Math.round(clamp(base + gauss(h, S.RSSI, key) * 2, -120, -30));
}
