import { z } from 'zod';
import type { Kind, SectionOf } from '../../core/index.js';
import { groundwaterKpisSchema } from '../../core/kinds/groundwater/kpis.js';
import { nodeHealthKpisSchema } from '../../processors/health/kpis.js';
import { lightingKpisSchema } from '../../core/kinds/streetlight/kpis.js';
import { noiseKpisSchema } from '../../core/kinds/noise/kpis.js';
import { parkingKpisSchema } from '../../core/kinds/parking/kpis.js';
import { profileKpisSchema } from './profile-kpis.js';

/** One schema per built-in kind's section (typed: a kind added to KINDS without its schema does not compile). */
const sections = {
  lighting: lightingKpisSchema,
  groundwater: groundwaterKpisSchema,
  noise: noiseKpisSchema,
  parking: parkingKpisSchema,
} satisfies { [K in Kind as SectionOf<K>]: z.ZodType };

/**
 * `/api/v1/kpis`: one section per built-in kind, node health under `nodes`, and every profile
 * kind's section under its kind's name (the catchall: profile kinds come from files at start-up).
 */
export const kpisSchema = z
  .object({
    evaluatedAt: z.number().describe("the evaluation's time (epoch ms, event time of the newest data)"),
    ...sections,
    nodes: nodeHealthKpisSchema,
  })
  .catchall(profileKpisSchema)
  .describe("the city's KPIs; profile kinds (e.g. waterlogging, manhole) add a section under their kind's name");

export type KpisDocument = z.output<typeof kpisSchema>;
