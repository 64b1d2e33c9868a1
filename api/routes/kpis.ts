import type { FastifyPluginAsync } from 'fastify';
import type { ApiRole, PipelineView } from '../../core/index.js';
import { requireRole } from '../auth.js';

export const kpiRoutes: FastifyPluginAsync<{ view: PipelineView; tokens?: Map<string, ApiRole> }> = async (app, { view, tokens }) => {
  app.get(
    '/api/v1/kpis',
    {
      preHandler: requireRole(tokens, 'viewer'),
      schema: { summary: 'Current KPIs: lighting, groundwater, noise, parking, nodes', tags: ['kpis'] },
    },
    async (_req, reply) => {
      if (!view.ready()) return reply.code(503).send({ error: 'not-ready', message: 'KPIs have not been evaluated yet' });
      return view.kpis();
    },
  );
};
