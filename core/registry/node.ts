import { z } from 'zod';
import { districtName, isKind, KINDS, topicLevel, type AttrsOf, type Kind, type KindCatalog } from '../kinds/index.js';

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

export const builtinNodeSchema = z.discriminatedUnion('kind', [
  z.object({ ...base, kind: z.literal('streetlight'), ...KINDS.streetlight.attrs.shape }),
  z.object({ ...base, kind: z.literal('groundwater'), ...KINDS.groundwater.attrs.shape }),
  z.object({ ...base, kind: z.literal('noise'), ...KINDS.noise.attrs.shape }),
  z.object({ ...base, kind: z.literal('parking'), ...KINDS.parking.attrs.shape }),
]);

/** A node of a built-in kind, its attributes typed by its kind. */
export type BuiltinNode = z.output<typeof builtinNodeSchema>;

/** A node of a profile kind: the common columns and the attributes its profile names. */
export interface ProfileNode {
  nodeId: string;
  kind: string;
  district: string;
  lat: number;
  lon: number;
  expectedIntervalS?: number;
  gatewayId?: string;
  [attribute: string]: unknown;
}

/** Any node of the registry; code for one built-in kind narrows it with `isBuiltinNode` or takes `NodeOf<K>`. */
export type RegistryNode = BuiltinNode | ProfileNode;
export type NodeOf<K extends Kind> = Extract<BuiltinNode, { kind: K }> & AttrsOf<K>;

export function isBuiltinNode(node: RegistryNode): node is BuiltinNode {
  return isKind(node.kind);
}

/** Parses one registry entry against its kind (built-in or profile) in `kinds`. */
export function parseNode(entry: unknown, kinds: KindCatalog): ReturnType<z.ZodType<RegistryNode>['safeParse']> {
  const kind = (entry as { kind?: unknown } | null)?.kind;
  if (typeof kind === 'string' && !isKind(kind)) {
    const spec = kinds.get(kind);
    if (spec) return z.object({ ...base, kind: z.literal(kind), ...spec.attrs.shape }).safeParse(entry);
    return z.never({ error: `unknown kind ${JSON.stringify(kind)} (one of ${kinds.names().join(', ')})` }).safeParse(entry);
  }
  return builtinNodeSchema.safeParse(entry);
}
