import { z } from 'zod';
import { ZONE_CLASSES } from '../../index.js';

/**
 * The `noise` section of `/api/v1/kpis`, exactly as NoiseMerger (./merge.ts) writes it (rows:
 * StationRow of ./processor.ts). The API serializes the section through this schema, so a field
 * the merger adds and this schema lacks is dropped from the response: change both together
 * (api/schemas/kpis.test.ts checks it). Records keyed by data (zone classes) are open.
 */
export const hourResultSchema = z.object({
  hourStart: z.number(),
  period: z.enum(['day', 'night']),
  leq: z.number().nullable().describe('hourly Leq dB(A), an energy average; null without samples'),
  coverage: z.number().describe('share of the hour covered by samples (valid-data rate)'),
  limit: z.number().describe('GB 3096-2008 limit of the zone class and period'),
  complete: z.boolean().describe('false: too few samples, neither compliant nor not'),
  exceeds: z.boolean().nullable(),
});

export const dayResultSchema = z.object({
  date: z.string().describe('local date D of the day 06:00 D -> 06:00 D+1'),
  ld: z.number().nullable(),
  ldValidRate: z.number(),
  ldComplete: z.boolean(),
  ldExceeds: z.boolean().nullable(),
  ln: z.number().nullable(),
  lnValidRate: z.number(),
  lnComplete: z.boolean(),
  lnExceeds: z.boolean().nullable(),
});

export const stationRowSchema = z.object({
  nodeId: z.string(),
  station: z.string(),
  district: z.string(),
  zoneClass: z.string().describe(ZONE_CLASSES.join(' | ')),
  lastHour: hourResultSchema,
  currentHour: hourResultSchema,
  today: dayResultSchema,
  yesterday: dayResultSchema,
});

export const noiseKpisSchema = z
  .object({
    stations: z.number(),
    hour: z.number().nullable().describe('start of the last closed hour judged (epoch ms)'),
    complete: z.number(),
    incomplete: z.number(),
    compliant: z.number(),
    complianceRate: z.number().nullable().describe('compliant / complete stations'),
    byZoneClass: z.record(z.string(), z.object({ stations: z.number(), complete: z.number(), compliant: z.number() })),
    list: z.array(stationRowSchema),
  })
  .describe('noise stations judged on the last closed hour (GB 3096-2008)');

export type NoiseKpis = z.output<typeof noiseKpisSchema>;
