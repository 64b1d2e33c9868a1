import { z } from 'zod';
import { ROAD_CLASSES, ZONE_CLASSES } from '../../core/index.js';

/**
 * `/api/v1/nodes` and `/api/v1/nodes/:id`: NodeView of core/view.ts. A node's attributes depend on
 * its kind (profile kinds name their own), so node objects are open: the per-kind shapes below
 * document the built-in kinds' attributes and let anything else through.
 */
const common = {
  nodeId: z.string(),
  district: z.string(),
  lat: z.number(),
  lon: z.number(),
  expectedIntervalS: z.number().optional().describe("overrides the kind's reporting interval (s)"),
  gatewayId: z.string().optional().describe("the gateway that carries this node's readings"),
};

export const registryNodeSchema = z
  .union([
    z.looseObject({
      ...common,
      kind: z.literal('streetlight'),
      road: z.string(),
      roadClass: z.enum(ROAD_CLASSES),
      circuit: z.string(),
      ratedW: z.number(),
    }),
    z.looseObject({
      ...common,
      kind: z.literal('groundwater'),
      well: z.string(),
      springGroup: z.string(),
      lines: z.object({ yellow: z.number(), orange: z.number(), red: z.number() }),
    }),
    z.looseObject({ ...common, kind: z.literal('noise'), station: z.string(), zoneClass: z.enum(ZONE_CLASSES) }),
    z.looseObject({ ...common, kind: z.literal('parking'), lotId: z.string(), lotName: z.string(), spaces: z.number() }),
    z.looseObject({ ...common, kind: z.string().describe('a profile kind, e.g. waterlogging, manhole: the attributes its profile names') }),
  ])
  .describe("a registered node: common columns and its kind's attributes");

export const nodeHealthSchema = z.object({
  online: z.boolean(),
  lastSeen: z.number().nullable().describe('event time of the latest reading (epoch ms)'),
  lastReceivedAt: z.number().nullable().describe('when the latest reading arrived (epoch ms)'),
  status: z.enum(['online', 'offline', 'never-seen']),
  battery: z.number().optional().describe('0..1'),
  rssi: z.number().optional().describe('dBm'),
});

export const nodeViewSchema = z.object({
  node: registryNodeSchema,
  health: nodeHealthSchema,
  latest: z.record(z.string(), z.unknown()).optional().describe('the latest accepted reading (one node only)'),
  derived: z.record(z.string(), z.unknown()).optional().describe("what the kind's processor derived from it (one node only)"),
});

export const nodePageSchema = z.object({
  total: z.number().describe('nodes matching the filter'),
  limit: z.number(),
  offset: z.number(),
  items: z.array(nodeViewSchema),
});
