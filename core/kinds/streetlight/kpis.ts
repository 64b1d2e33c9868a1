import { z } from 'zod';
import { ROAD_CLASSES } from '../../index.js';

/**
 * The `lighting` section of `/api/v1/kpis`, exactly as LightingMerger (./merge.ts) writes it. The
 * API serializes the section through this schema, so a field the merger adds and this schema lacks
 * is dropped from the response: change both together (api/schemas/kpis.test.ts checks it).
 * Records keyed by data (districts, road classes) are open.
 */
const rate = z.number().nullable().describe('share 0..1; null when nothing counts (no lamp expected lit, no position designed)');

const installation = z
  .object({ designed: z.number(), installed: z.number(), rate })
  .describe('installation rate: installed / designed lamp positions');
const intact = z
  .object({ facilities: z.number(), intact: z.number(), rate })
  .describe('facility intact rate: facilities without an open fault / all');

export const lightingKpisSchema = z
  .object({
    lamps: z.number().describe('registered street lamps'),
    scheduledOn: z.boolean().describe('the switching timetable says lamps should be on now'),
    halfNight: z.boolean().describe('half-night mode is active now (every other lamp rests)'),
    halfNightFrom: z
      .number()
      .nullable()
      .describe('when half-night starts in the current night (epoch ms); null outside a night or when the mode is off'),
    resting: z.number().describe('lamps switched off by half-night (not expected lit)'),
    switchOn: z.number().describe('switch-on time of the current timetable (epoch ms)'),
    switchOff: z.number().describe('switch-off time of the current timetable (epoch ms)'),
    rate: rate.describe("lighting rate = lit / expected lit, city-wide; by day the last night's rate"),
    rateAt: z.number().nullable().describe('when `rate` was evaluated (epoch ms)'),
    lit: z.number(),
    expected: z.number(),
    unknown: z.number().describe('lamps whose state is not known yet'),
    byRoadClass: z.record(
      z.string().describe(ROAD_CLASSES.join(' | ')),
      z.object({ rate, lit: z.number(), expected: z.number(), target: z.number(), compliant: z.boolean().nullable() }),
    ),
    byDistrict: z.record(z.string(), z.object({ rate, lit: z.number(), expected: z.number() })),
    darkCircuits: z.number().describe('circuits mostly dark (one CircuitDark alert each)'),
    onInDaytime: z.number().describe('lamps on while scheduled off'),
    installation,
    installationByDistrict: z.record(z.string(), installation),
    installationByRoadClass: z.record(z.string(), installation),
    intact,
    intactByDistrict: z.record(z.string(), intact),
    roads: z
      .object({
        total: z.number().describe('roads judged'),
        compliant: z.number(),
        nonCompliant: z
          .array(
            z.object({
              road: z.string(),
              district: z.string(),
              roadClass: z.enum(ROAD_CLASSES),
              lamps: z.number(),
              dark: z.number(),
              rate: z.number(),
              rule: z.string().describe('the per-road rule broken, e.g. `max-dark:2` or `floor:0.97`'),
            }),
          )
          .describe('worst first, at most 200'),
        at: z.number().nullable().describe('when the roads were judged (the last time lamps were scheduled on)'),
      })
      .describe('per-road compliance'),
  })
  .describe('street lighting: lighting, installation and intact rates');

export type LightingKpis = z.output<typeof lightingKpisSchema>;
