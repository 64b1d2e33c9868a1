import { z } from 'zod';

/**
 * The `nodes` section of `/api/v1/kpis`, exactly as HealthMerger (./processor.ts) writes it. The
 * API serializes the section through this schema, so a field the merger adds and this schema
 * lacks is dropped from the response: change both together (api/schemas/kpis.test.ts checks it).
 * Records keyed by data (kinds, districts, rejection reasons) are open.
 */
const online = {
  total: z.number(),
  online: z.number(),
  offline: z.number(),
  ratio: z.number().nullable().describe('online / total; null without nodes'),
};

export const nodeHealthKpisSchema = z
  .object({
    ...online,
    neverSeen: z.number().describe('registered nodes never heard from'),
    batteryLow: z.number(),
    byKind: z.record(z.string(), z.object(online)),
    byDistrict: z.record(z.string(), z.object(online)),
    rejectedLast5m: z.record(z.string(), z.number()).describe('rejected messages per reason over the last five minutes'),
  })
  .describe('node health: online ratios city-wide, per kind and district');

export type NodeHealthKpis = z.output<typeof nodeHealthKpisSchema>;
