import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ApiRole, KindCatalog, PipelineView } from '../../core/index.js';
import { requireRole } from '../auth.js';
import { errorSchema, kpisSchema } from '../schemas/index.js';
import { sendError } from '../errors.js';

export const kpiRoutes: FastifyPluginAsync<{ view: PipelineView; tokens?: Map<string, ApiRole>; kinds: KindCatalog }> = async (
  app,
  { view, tokens, kinds },
) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/api/v1/kpis',
    {
      onRequest: requireRole(tokens, 'viewer'),
      // The response is serialized through kpisSchema: a field it does not describe is dropped.
      schema: {
        summary: 'Current KPIs: one section per kind of the pipeline (the response schema names them) and node health',
        tags: ['kpis'],
        response: { 200: kpisSchema(kinds), 503: errorSchema },
      },
    },
    async (_req, reply) => {
      if (!view.ready()) return sendError(reply, 'not-ready', 'KPIs have not been evaluated yet');
      return view.kpis();
    },
  );
};
