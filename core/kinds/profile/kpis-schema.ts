import { z } from 'zod';

/**
 * The section of a profile kind (waterlogging, manhole, ...) in `/api/v1/kpis`, under the kind's
 * name: ProfileKpis of core/kinds/profile/kpis.ts. Aggregates are keyed by the profile's aggregate
 * names and values by its reading fields, so those records are open.
 */
const aggregates = z
  .record(z.string(), z.number().nullable())
  .describe(
    "by the profile's aggregate names: mean/min/max over the nodes' latest readings (null when no node has a value), count of nodes meeting the condition, timeOver the longest current run (s)",
  );

export const profileNodeRowSchema = z.object({
  nodeId: z.string(),
  district: z.string(),
  ts: z.number().describe('time of the latest reading (epoch ms)'),
  values: z.record(z.string(), z.union([z.number(), z.boolean(), z.string()])).describe('latest values by reading field'),
  timeOver: z.record(z.string(), z.number()).describe('how long each timeOver condition has held (s)'),
  rules: z.array(z.string()).describe('`alert/severity` of the alert rules whose condition holds'),
});

export const profileKpisSchema = z
  .object({
    title: z.string(),
    nodes: z.number().describe('registered nodes of the kind'),
    reporting: z.number().describe('nodes with at least one accepted reading'),
    aggregates,
    byDistrict: z.record(z.string(), z.object({ nodes: z.number(), reporting: z.number(), aggregates })),
    list: z.array(profileNodeRowSchema).describe('nodes meeting any count/timeOver condition or alert rule now, by node id'),
  })
  .describe("a profile kind's section (e.g. waterlogging, manhole), under the kind's name");
