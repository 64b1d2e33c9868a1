import { z } from 'zod';

/**
 * The `parking` section of `/api/v1/kpis`, exactly as ParkingMerger (./merge.ts) writes it. The
 * API serializes the section through this schema, so a field the merger adds and this schema
 * lacks is dropped from the response: change both together (api/schemas/kpis.test.ts checks it).
 * Records keyed by data (districts) are open.
 */
const occupancy = z.number().nullable().describe('occupied / known spaces; null when no space is known');
const turnover = {
  sessions: z.number().describe('parking sessions over the local day'),
  turnover: z.number().nullable().describe('sessions / spaces'),
  meanDwellMin: z.number().nullable().describe('mean parked time per session, minutes'),
};
const counts = {
  spaces: z.number(),
  occupied: z.number(),
  free: z.number(),
  unknown: z.number().describe('spaces without a fresh detector report: never counted free'),
};

export const lotRowSchema = z.object({
  lotId: z.string(),
  lotName: z.string(),
  district: z.string(),
  ...counts,
  occupancy,
  state: z.enum(['normal', 'nearly-full', 'full', 'unknown']),
  ...turnover,
});

export const parkingKpisSchema = z
  .object({
    lots: z.number(),
    ...counts,
    occupancy,
    ...turnover,
    full: z.number().describe('lots full'),
    nearlyFull: z.number().describe('lots nearly full'),
    byDistrict: z.record(z.string(), z.object({ ...counts, occupancy, ...turnover })),
    list: z.array(lotRowSchema),
  })
  .describe('parking: occupancy, free spaces, turnover and dwell per lot, district and city');

export type ParkingKpis = z.output<typeof parkingKpisSchema>;
