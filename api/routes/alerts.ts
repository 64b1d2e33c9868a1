import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AckResult, ApiRole, PipelineView } from '../../core/index.js';
import { requireRole } from '../auth.js';
import { alertListSchema, alertSchema, errorSchema } from '../schemas/index.js';
import { sendError } from '../errors.js';

export const alertRoutes: FastifyPluginAsync<{ view: PipelineView; tokens?: Map<string, ApiRole> }> = async (app, { view, tokens }) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/api/v1/alerts',
    {
      onRequest: requireRole(tokens, 'viewer'),
      schema: {
        summary: 'Alerts, newest first; without state: active and recently resolved',
        tags: ['alerts'],
        querystring: z.object({ state: z.enum(['firing', 'resolved', 'acknowledged']).optional() }),
        response: { 200: alertListSchema },
      },
    },
    async (req) => {
      const alerts = view.alerts(req.query.state).sort((a, b) => b.updatedAt - a.updatedAt);
      return { total: alerts.length, items: alerts };
    },
  );
  const answers = { 200: alertSchema, 404: errorSchema, 409: errorSchema, 503: errorSchema };
  const params = z.object({ id: z.string().regex(/^[0-9a-f]{16}$/, 'alert ids are 16 hex characters') });
  // The person is free text the crew types (the token only says the role); both go on the alert's trail.
  const by = z.string().trim().min(1).max(80).describe('who acts: the person or crew, e.g. "Wang Lei, crew 7"');
  const text = z.string().trim().min(1).max(1000);
  const actorOf = (req: FastifyRequest, person: string | undefined) => ({
    by: person ?? req.principal?.name ?? 'anonymous',
    role: req.principal?.role ?? 'anonymous',
  });
  const answer = (reply: FastifyReply, id: string, result: AckResult) => {
    if (result.ok) return result.alert;
    if (result.error === 'not-found') return sendError(reply, 'not-found', `no alert ${id}`);
    if (result.error === 'unavailable')
      return sendError(reply, 'not-ready', `no instance is aggregating right now (one is taking over): alert ${id} unchanged, try again`);
    return sendError(reply, 'not-active', `alert ${id} is already resolved`);
  };
  r.post(
    '/api/v1/alerts/:id/ack',
    {
      onRequest: requireRole(tokens, 'crew'),
      schema: {
        summary:
          'Acknowledge an active alert (crew, operator or admin), optionally naming who and with a note; a second acknowledgement adds a note',
        tags: ['alerts'],
        params,
        body: z
          .object({ by: by.optional(), note: text.optional().describe('e.g. "crew on site"') })
          .strict()
          .nullish(),
        response: answers,
      },
    },
    async (req, reply) => answer(reply, req.params.id, await view.acknowledge(req.params.id, actorOf(req, req.body?.by), req.body?.note)),
  );
  r.post(
    '/api/v1/alerts/:id/notes',
    {
      onRequest: requireRole(tokens, 'crew'),
      schema: {
        summary: 'Add a note to an active or recently resolved alert (crew, operator or admin)',
        tags: ['alerts'],
        params,
        body: z.object({ by, note: text.describe('e.g. "part ordered"') }).strict(),
        response: answers,
      },
    },
    async (req, reply) => answer(reply, req.params.id, await view.note(req.params.id, actorOf(req, req.body.by), req.body.note)),
  );
};
