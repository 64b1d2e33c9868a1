import { z } from 'zod';
import { BANDS } from './level.js';

/**
 * The `groundwater` section of `/api/v1/kpis`, exactly as GroundwaterMerger (./merge.ts) writes
 * it. The API serializes the section through this schema, so a field the merger adds and this
 * schema lacks is dropped from the response: change both together (api/schemas/kpis.test.ts
 * checks it). Records keyed by data (spring groups) and the well rows (WellRow is open) are open.
 */
const band = z.enum(BANDS);
const lineBand = z.enum(['yellow', 'orange', 'red']);

export const wellRowSchema = z
  .looseObject({
    nodeId: z.string(),
    well: z.string(),
    springGroup: z.string(),
    district: z.string(),
    level: z.number().nullable().describe('median-filtered level, m above sea level; null until the well has reported'),
    band: band.nullable().describe('null until the well has reported'),
    trend24hCmPerDay: z.number().nullable().optional(),
    trend7dCmPerDay: z.number().nullable().optional(),
    nextLine: lineBand.nullable().optional().describe('the next warning line below the current band'),
    nextLineM: z.number().nullable().optional(),
    hoursToNextLine: z.number().nullable().optional().describe('at the 24 h trend; null when not falling'),
    lines: z.object({ yellow: z.number(), orange: z.number(), red: z.number() }).optional(),
    lastTs: z.number().optional().describe('time of the latest reading (epoch ms)'),
  })
  .describe('one well; the derived fields appear once it has reported');

export const groundwaterKpisSchema = z
  .object({
    wells: z.number(),
    reporting: z.number().describe('wells with a level'),
    byBand: z.object({ normal: z.number(), yellow: z.number(), orange: z.number(), red: z.number() }),
    springGroups: z.record(z.string(), z.object({ minLevel: z.number(), worstBand: band, wells: z.number() })),
    list: z.array(wellRowSchema),
  })
  .describe('spring wells: levels, warning bands, trends');

export type GroundwaterKpis = z.output<typeof groundwaterKpisSchema>;
