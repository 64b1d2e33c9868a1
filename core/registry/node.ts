import { z } from 'zod';
import { districtName, KINDS, topicLevel, type AttrsOf, type Kind } from '../kinds/index.js';

const base = {
  nodeId: topicLevel,
  district: districtName,
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
  /** Overrides the kind's reporting interval for this node (seconds). */
  expectedIntervalS: z.number().positive().optional(),
  /** The gateway that carries this node's readings, when it has one. */
  gatewayId: topicLevel.optional(),
};

export const nodeSchema = z.discriminatedUnion('kind', [
  z.object({ ...base, kind: z.literal('streetlight'), ...KINDS.streetlight.attrs.shape }),
  z.object({ ...base, kind: z.literal('groundwater'), ...KINDS.groundwater.attrs.shape }),
  z.object({ ...base, kind: z.literal('noise'), ...KINDS.noise.attrs.shape }),
  z.object({ ...base, kind: z.literal('parking'), ...KINDS.parking.attrs.shape }),
]);

export type RegistryNode = z.output<typeof nodeSchema>;
export type NodeOf<K extends Kind> = Extract<RegistryNode, { kind: K }> & AttrsOf<K>;
