import type { KindProfile, ProfileField, ProfileNode, ProfileReading, SimulatedValue } from '../../core/index.js';
import { clamp, hashString, nodeHash, round, unit } from '../hash.js';
import { effectsOf, rssiOf, S, type ModelContext, type ProfileTarget } from './context.js';

/** A profile kind's effects in a scenario: the nodes in one of its profile's scenarios. */
export type ProfileTargets = ReadonlyMap<string, ProfileTarget>;
const NO_TARGETS: ProfileTargets = new Map();

/**
 * The reading model of every profile kind, generic from its profile's `simulate` block: a node
 * reports the `normal` values; a node in one of the profile's scenarios moves to the scenario's
 * values, numbers linearly over its `rampS` from the scenario's start, other values once there.
 */

/** A field's draws are salted with its name, so adding a field to a profile leaves the others' values alone. */
function fieldSalt(name: string): number {
  return hashString(name, 0x51_3d_f1e1);
}

/** Where a node sits within a [low, high] range: fixed per node, with a wobble of 5 % of the range per reading. */
function position(h: number, salt: number, sec: number): number {
  return clamp(unit(h, salt) + (unit(h, salt ^ 0x2545_f491, sec) - 0.5) * 0.1, 0, 1);
}

/** What a required field reports when the profile gives it no normal value: zero, false or the first enum value, within the field. */
export function restingValue(field: ProfileField): number | boolean | string {
  switch (field.type) {
    case 'number':
      return clamp(0, field.min ?? -Infinity, field.max ?? Infinity);
    case 'boolean':
      return false;
    case 'enum':
      return field.values[0]!;
  }
}

/** A simulated value at position p (0..1) of its range, or the fixed value. */
function valueAt(v: SimulatedValue, p: number): number | boolean | string {
  return Array.isArray(v) ? v[0] + (v[1] - v[0]) * p : v;
}

/** Decimals that keep about three significant digits of the spread a value moves in. */
function decimalsFor(spread: number): number {
  return spread > 0 ? clamp(2 - Math.floor(Math.log10(spread)), 0, 6) : 3;
}

/** How far into its scenario a node is at t: 0 normal, 1 at the scenario's values. */
export function rampProgress(target: ProfileTarget | undefined, t: number, start: number): number {
  if (!target || t < start) return 0;
  return target.rampS > 0 ? Math.min(1, (t - start) / (target.rampS * 1000)) : 1;
}

/** One reading of a profile-kind node at t: its fields (omitted when the profile simulates none and none is required), battery and signal. */
export function profileModel(node: ProfileNode, profile: KindProfile, t: number, ctx: ModelContext): ProfileReading {
  const h = nodeHash(node.nodeId, ctx.seed);
  const sec = Math.floor(t / 1000);
  const target = effectsOf(ctx, profile.kind, NO_TARGETS).get(node.nodeId);
  const progress = rampProgress(target, t, ctx.scenario.start);
  const reading: ProfileReading = { ts: t };
  for (const [name, field] of Object.entries(profile.fields)) {
    const normal = profile.simulate.normal[name];
    const goal = target?.values[name];
    if (normal === undefined && goal === undefined && !field.required) continue;
    const p = position(h, fieldSalt(name), sec);
    const from = normal === undefined ? restingValue(field) : valueAt(normal, p);
    const to = goal === undefined ? from : valueAt(goal, p);
    let value: number | boolean | string;
    if (typeof from === 'number' && typeof to === 'number') {
      const spread = Math.max(spreadOf(normal), spreadOf(goal), Math.abs(to - from));
      const range: { min?: number; max?: number } = field.type === 'number' ? field : {};
      value = clamp(round(from + (to - from) * progress, decimalsFor(spread)), range.min ?? -Infinity, range.max ?? Infinity);
    } else value = progress >= 1 ? to : from;
    reading[name] = value;
  }
  reading.battery = round(0.8 + 0.19 * unit(h, S.BATTERY), 2);
  reading.rssi = rssiOf(h, sec);
  return reading;
}

function spreadOf(v: SimulatedValue | undefined): number {
  return Array.isArray(v) ? Math.abs(v[1] - v[0]) : 0;
}
