import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { topicLevel, type ApiRole, type KindCatalog, type PipelineView } from '../../core/index.js';
import { requireRole } from '../auth.js';
import { errorSchema, nodePageSchema, nodeViewSchema } from '../schemas/index.js';
import { sendError } from '../errors.js';

/** The query of the node list; `kinds`: the pipeline's kinds (built-in and profile), the only values `kind` may take. */
const nodeQuery = (kinds: readonly string[]) =>
  z.object({
    kind: z
      .enum(kinds as [string, ...string[]])
      .optional()
      .describe(kinds.join(' | ')),
    district: z.string().max(64).optional(),
    status: z.enum(['online', 'offline']).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    offset: z.coerce.number().int().min(0).default(0),
  });

export const nodeRoutes: FastifyPluginAsync<{ view: PipelineView; tokens?: Map<string, ApiRole>; kinds: KindCatalog }> = async (
  app,
  { view, tokens, kinds },
) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const nodeView = nodeViewSchema(kinds);
  r.get(
    '/api/v1/nodes',
    {
      onRequest: requireRole(tokens, 'viewer'),
      schema: {
        summary: 'Registered nodes with their health, filtered and paged',
        tags: ['nodes'],
        querystring: nodeQuery(kinds.names()),
        response: { 200: nodePageSchema(kinds) },
      },
    },
    async (req) => {
      const q = req.query;
      const page = view.nodes({ kind: q.kind, district: q.district, status: q.status, limit: q.limit, offset: q.offset });
      return { total: page.total, limit: q.limit, offset: q.offset, items: page.items };
    },
  );
  r.get(
    '/api/v1/nodes/:id',
    {
      onRequest: requireRole(tokens, 'viewer'),
      schema: {
        summary: 'One node: attributes, health, latest reading and derived state',
        tags: ['nodes'],
        params: z.object({ id: topicLevel }),
        response: { 200: nodeView, 404: errorSchema },
      },
    },
    async (req, reply) => {
      const node = view.node(req.params.id);
      if (!node) return sendError(reply, 'not-found', `node ${req.params.id} is not registered`);
      return node;
    },
  );
};
