import type { FastifyPluginAsync } from 'fastify';
import type { PipelineMetrics } from '../../core/index.js';

/** Probes and the scrape endpoint: every stage process serves these. */
export const healthRoutes: FastifyPluginAsync<{ ready: () => boolean; metrics: PipelineMetrics }> = async (
  app,
  { ready: isReady, metrics },
) => {
  app.get('/health', { schema: { summary: 'Liveness: the API process answers', tags: ['ops'] } }, async () => ({ status: 'ok' }));

  app.get(
    '/ready',
    { schema: { summary: 'Readiness: this stage is connected to the log and (for the API) KPIs have been evaluated', tags: ['ops'] } },
    async (_req, reply) => {
      const ready = isReady();
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'starting' });
    },
  );

  app.get('/metrics', { schema: { summary: 'Prometheus metrics (text exposition format)', tags: ['ops'] } }, async (_req, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });
};
