import type { RegistryNode, SimulatedReading } from '../../core/index.js';
import type { SimulationContext } from './context.js';

export type SimReading = SimulatedReading;

/**
 * The reading of any node at simulated time t: its kind module's model (a profile kind's is
 * derived from its profile), from `ctx.kinds`. `heartbeat` only matters for event-driven kinds
 * (parking detectors; false: a state-change event). Pure: same node, time, context -> same payload.
 */
export function generateReading(node: RegistryNode, t: number, ctx: SimulationContext, heartbeat = true): SimReading {
  const module = ctx.kinds.get(node.kind);
  if (!module) throw new Error(`no reading model for kind ${node.kind} (not a kind of the catalog)`);
  return module.model(node, t, ctx, heartbeat);
}

export * from './context.js';
export * from './profile.js';
