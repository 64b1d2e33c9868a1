import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ApiRole, PipelineView } from '../../core/index.js';
import { requireRole } from '../auth.js';
import { errorSchema, kpisSchema, type KpisDocument } from '../schemas/index.js';

export const kpiRoutes: FastifyPluginAsync<{ view: PipelineView; tokens?: Map<string, ApiRole> }> = async (app, { view, tokens }) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/api/v1/kpis',
    {
      onRequest: requireRole(tokens, 'viewer'),
      // The response is serialized through kpisSchema: a field it does not describe is dropped.
      schema: {
        summary: 'Current KPIs: lighting, groundwater, noise, parking, nodes, and one section per profile kind',
        tags: ['kpis'],
        response: { 200: kpisSchema, 503: errorSchema },
      },
    },
    async (_req, reply) => {
      if (!view.ready()) return reply.code(503).send({ error: 'not-ready', message: 'KPIs have not been evaluated yet' });
      // core/view.ts types the sections loosely; kpisSchema is their exact shape (api/schemas/kpis.test.ts).
      return view.kpis() as KpisDocument;
    },
  );
};
