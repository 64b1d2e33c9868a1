import { isBuiltinNode, KindCatalog, type Kind, type ProfileReading, type ReadingOf, type RegistryNode } from '../../core/index.js';
import type { ModelContext } from './context.js';
import { groundwaterModel } from '../../core/kinds/groundwater/model.js';
import { noiseModel } from '../../core/kinds/noise/model.js';
import { parkingModel } from '../../core/kinds/parking/model.js';
import { profileModel } from './profile.js';
import { streetlightModel } from '../../core/kinds/streetlight/model.js';

export type SimReading = ReadingOf<Kind> | ProfileReading;

/**
 * The reading of any node at simulated time t: a built-in kind's own model, or the profile model
 * for a profile kind (its profile from `ctx.kinds`). `heartbeat` only matters for parking detectors
 * (false: a state-change event). Pure: same node, time, context -> same payload.
 */
export function generateReading(node: RegistryNode, t: number, ctx: ModelContext, heartbeat = true): SimReading {
  if (!isBuiltinNode(node)) {
    const profile = (ctx.kinds ?? KindCatalog.default()).get(node.kind)?.profile;
    if (!profile) throw new Error(`no reading model for kind ${node.kind} (not a kind of the catalog)`);
    return profileModel(node, profile, t, ctx);
  }
  switch (node.kind) {
    case 'streetlight':
      return streetlightModel(node, t, ctx);
    case 'groundwater':
      return groundwaterModel(node, t, ctx);
    case 'noise':
      return noiseModel(node, t, ctx);
    case 'parking':
      return parkingModel(node, t, ctx, heartbeat);
  }
}

export * from './context.js';
export * from '../../core/kinds/streetlight/model.js';
export * from '../../core/kinds/groundwater/model.js';
export * from '../../core/kinds/noise/model.js';
export * from '../../core/kinds/parking/model.js';
export * from './profile.js';
