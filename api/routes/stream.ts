import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { KIND_NAMES, type ApiRole, type PipelineEvent, type PipelineView } from '../../core/index.js';
import { requireRole } from '../auth.js';

const HEARTBEAT_MS = 15_000;
/**
 * A client that cannot keep up is cut off rather than buffering without bound; a `kpis` event
 * (a snapshot: the next supersedes it) is skipped while the previous one is still being written,
 * so a client slower than the evaluations gets the latest KPIs instead of being cut off (at
 * 500,000 nodes one event is about 1.5 MB).
 */
const MAX_BUFFERED_BYTES = 1 << 20;

export const streamRoutes: FastifyPluginAsync<{ view: PipelineView; tokens?: Map<string, ApiRole> }> = async (app, { view, tokens }) => {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/api/v1/stream',
    {
      preHandler: requireRole(tokens, 'viewer'),
      schema: {
        summary: 'Live server-sent events: kpis, alert and (with readings=true) reading events',
        tags: ['stream'],
        querystring: z.object({
          readings: z.enum(['true', 'false']).default('false'),
          kind: z.enum(KIND_NAMES as [string, ...string[]]).optional(),
          district: z.string().max(64).optional(),
        }),
      },
    },
    (req, reply) => {
      const { readings, kind, district } = req.query;
      const wanted = (e: PipelineEvent) => {
        if (e.type === 'reading') return readings === 'true' && (!kind || e.kind === kind) && (!district || e.district === district);
        if (e.type === 'alert') return (!kind || e.alert.labels.kind === kind) && (!district || e.alert.labels.district === district);
        return true;
      };
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      res.write(': connected\n\n');
      let closed = false;
      const close = () => {
        if (closed) return;
        closed = true;
        unsubscribe();
        clearInterval(heartbeat);
        res.end();
      };
      const unsubscribe = view.subscribe((event) => {
        if (!wanted(event)) return;
        if (event.type === 'kpis' && res.writableLength > 0) return;
        if (res.writableLength > MAX_BUFFERED_BYTES) return close();
        res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
      });
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
      req.raw.on('close', close);
    },
  );
};
