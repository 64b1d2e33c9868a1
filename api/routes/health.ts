import type { FastifyPluginAsync } from 'fastify';
import type { PipelineMetrics, PipelineView } from '../../core/index.js';

export const healthRoutes: FastifyPluginAsync<{ view: PipelineView; metrics: PipelineMetrics }> = async (app, { view, metrics }) => {
  app.get('/health', { schema: { summary: 'Liveness: the API process answers', tags: ['ops'] } }, async () => ({ status: 'ok' }));

  app.get('/ready', { schema: { summary: 'Readiness: the processors consume and have evaluated KPIs', tags: ['ops'] } }, async (_req, reply) => {
    const ready = view.ready();
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'starting' });
  });

  app.get('/metrics', { schema: { summary: 'Prometheus metrics (text exposition format)', tags: ['ops'] } }, async (_req, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });
};
