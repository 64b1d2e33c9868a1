import { z } from 'zod';
import { districtName, topicLevel, type AttrsOf, type Kind } from '../kinds/builtin.js';
import type { KindCatalog } from '../kinds/catalog.js';
import type { AnyKindModule } from '../kinds/module.js';

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

/** The columns every node has, whatever its kind (a type, not an interface: a node is also an open record). */
type NodeBase = {
  nodeId: string;
  district: string;
  lat: number;
  lon: number;
  expectedIntervalS?: number;
  gatewayId?: string;
};

/** A node of a built-in kind, its attributes typed by its kind. */
export type BuiltinNode = { [K in Kind]: NodeBase & { kind: K } & AttrsOf<K> }[Kind];

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

/** Parses one registry entry against its kind's attributes (a kind of `kinds`, built-in or profile). */
export function parseNode(entry: unknown, kinds: KindCatalog): ReturnType<z.ZodType<RegistryNode>['safeParse']> {
  const kind = (entry as { kind?: unknown } | null)?.kind;
  const module = typeof kind === 'string' ? kinds.get(kind) : undefined;
  if (!module) return z.never({ error: `unknown kind ${JSON.stringify(kind)} (one of ${kinds.names().join(', ')})` }).safeParse(entry);
  return nodeSchema(module).safeParse(entry) as ReturnType<z.ZodType<RegistryNode>['safeParse']>;
}

const schemas = new WeakMap<AnyKindModule, z.ZodType>();
/** A kind's registry entry schema: the common columns and its attributes (built once per module). */
function nodeSchema(module: AnyKindModule): z.ZodType {
  let schema = schemas.get(module);
  if (!schema) schemas.set(module, (schema = z.object({ ...base, kind: z.literal(module.name), ...module.attrs.shape })));
  return schema;
}
