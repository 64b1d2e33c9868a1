import type { Kind, NodeOf, ReadingOf, RegistryNode } from '../../core/index.js';
import type { ModelContext } from './context.js';
import { groundwaterModel } from './groundwater.js';
import { noiseModel } from './noise.js';
import { parkingModel } from './parking.js';
import { streetlightModel } from './streetlight.js';

export type SimReading = ReadingOf<Kind>;

/**
 * The reading of any node at simulated time t. `heartbeat` only matters for parking detectors
 * (false: a state-change event). Pure: same node, time, context -> same payload.
 */
export function generateReading(node: RegistryNode, t: number, ctx: ModelContext, heartbeat = true): SimReading {
  switch (node.kind) {
    case 'streetlight':
      return streetlightModel(node as NodeOf<'streetlight'>, t, ctx);
    case 'groundwater':
      return groundwaterModel(node as NodeOf<'groundwater'>, t, ctx);
    case 'noise':
      return noiseModel(node as NodeOf<'noise'>, t, ctx);
    case 'parking':
      return parkingModel(node as NodeOf<'parking'>, t, ctx, heartbeat);
    default: {
      const unknown: never = node;
      throw new Error(`no reading model for kind ${(unknown as RegistryNode).kind}`);
    }
  }
}

export * from './context.js';
export * from './streetlight.js';
export * from './groundwater.js';
export * from './noise.js';
export * from './parking.js';
