import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiRole, PipelineView } from '../../core/index.js';
import { requireRole } from '../auth.js';

export const alertRoutes: FastifyPluginAsync<{ view: PipelineView; tokens?: Map<string, ApiRole> }> = async (app, { view, tokens }) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/api/v1/alerts',
    {
      preHandler: requireRole(tokens, 'viewer'),
      schema: { summary: 'Alerts, newest first; without state: active and recently resolved', tags: ['alerts'], querystring: z.object({ state: z.enum(['firing', 'resolved', 'acknowledged']).optional() }) },
    },
    async (req) => {
      const alerts = view.alerts(req.query.state).sort((a, b) => b.updatedAt - a.updatedAt);
      return { total: alerts.length, items: alerts };
    },
  );
  r.post(
    '/api/v1/alerts/:id/ack',
    {
      preHandler: requireRole(tokens, 'crew'),
      schema: { summary: 'Acknowledge an active alert (crew, operator or admin)', tags: ['alerts'], params: z.object({ id: z.string().regex(/^[0-9a-f]{16}$/, 'alert ids are 16 hex characters') }) },
    },
    async (req, reply) => {
      const result = await view.acknowledge(req.params.id, req.principal?.name ?? 'anonymous');
      if (result.ok) return result.alert;
      if (result.error === 'not-found') return reply.code(404).send({ error: 'not-found', message: `no alert ${req.params.id}` });
      return reply.code(409).send({ error: 'not-active', message: `alert ${req.params.id} is already resolved` });
    },
  );
};
