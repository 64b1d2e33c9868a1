import { z } from 'zod';
import type { KindCatalog } from '../../core/index.js';

/**
 * `/api/v1/nodes` and `/api/v1/nodes/:id`: NodeView of core/view.ts. A node's attributes depend on
 * its kind: one shape per kind of the catalog, open so that a registry entry's extra columns pass.
 */
const common = {
  nodeId: z.string(),
  district: z.string(),
  lat: z.number(),
  lon: z.number(),
  expectedIntervalS: z.number().optional().describe("overrides the kind's reporting interval (s)"),
  gatewayId: z.string().optional().describe("the gateway that carries this node's readings"),
};

/**
 * An attribute as the registry holds it after parsing: the output side of a schema that converts
 * on the way in (a profile's number given as CSV text), since responses are encoded through it and
 * a one-way conversion cannot encode.
 */
function parsed(t: z.ZodType): z.ZodType {
  if (t instanceof z.ZodPipe) return parsed(t.out as z.ZodType);
  if (t instanceof z.ZodDefault) return parsed(t.unwrap() as z.ZodType);
  if (t instanceof z.ZodOptional) return parsed(t.unwrap() as z.ZodType).optional();
  return t;
}

/** A registered node: the common columns and its kind's attributes (from its module or profile), one shape per kind. */
export function registryNodeSchema(kinds: KindCatalog) {
  const [first, ...rest] = kinds.modules().map((m) =>
    z.looseObject({
      ...common,
      kind: z.literal(m.name),
      ...Object.fromEntries(Object.entries(m.attrs.shape).map(([name, t]) => [name, parsed(t as z.ZodType)])),
    }),
  );
  if (!first) throw new Error('the API needs at least one sensor kind');
  return z.union([first, ...rest]).describe("a registered node: common columns and its kind's attributes");
}

export const nodeHealthSchema = z.object({
  online: z.boolean(),
  lastSeen: z.number().nullable().describe('event time of the latest reading (epoch ms)'),
  lastReceivedAt: z.number().nullable().describe('when the latest reading arrived (epoch ms)'),
  status: z.enum(['online', 'offline', 'never-seen']),
  battery: z.number().optional().describe('0..1'),
  rssi: z.number().optional().describe('dBm'),
});

export const nodeViewSchema = (kinds: KindCatalog) =>
  z.object({
    node: registryNodeSchema(kinds),
    health: nodeHealthSchema,
    latest: z.record(z.string(), z.unknown()).optional().describe('the latest accepted reading (one node only)'),
    derived: z.record(z.string(), z.unknown()).optional().describe("what the kind's processor derived from it (one node only)"),
  });

export const nodePageSchema = (kinds: KindCatalog) =>
  z.object({
    total: z.number().describe('nodes matching the filter'),
    limit: z.number(),
    offset: z.number(),
    items: z.array(nodeViewSchema(kinds)),
  });
