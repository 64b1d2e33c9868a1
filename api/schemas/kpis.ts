import { z } from 'zod';
import type { KindCatalog, Kpis } from '../../core/index.js';
import { nodeHealthKpisSchema } from '../../processors/health/kpis.js';

/**
 * `/api/v1/kpis` for a pipeline's kinds: one section per kind (its module's `kpis` schema under its
 * section name: `lighting` for streetlight, a profile kind's under its name) and node health under
 * `nodes`. Typed as the pipeline's `Kpis` (core/view.ts): the sections depend on the catalog, so the
 * compiler cannot know them; api/schemas/schemas.test.ts checks the document against it.
 */
export function kpisSchema(kinds: KindCatalog): z.ZodType<Kpis> {
  const schema = z
    .object({
      evaluatedAt: z.number().describe("the evaluation's time (epoch ms, event time of the newest data)"),
      ...Object.fromEntries(kinds.modules().map((m) => [m.section, m.kpis])),
      nodes: nodeHealthKpisSchema,
    })
    .describe(
      `the city's KPIs: ${kinds
        .modules()
        .map((m) => m.section)
        .join(', ')} and node health`,
    );
  return schema as unknown as z.ZodType<Kpis>;
}
