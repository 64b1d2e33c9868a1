import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors, jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { ApiRole, PipelineMetrics, PipelineView } from '../core/index.js';
import { alertRoutes } from './routes/alerts.js';
import { healthRoutes } from './routes/health.js';
import { kpiRoutes } from './routes/kpis.js';
import { nodeRoutes } from './routes/nodes.js';
import { streamRoutes } from './routes/stream.js';

const PROBES = new Set(['/health', '/ready', '/metrics']);

export interface ApiOptions {
  /** Without a view only the ops routes (/health, /ready, /metrics) are served: the ingest and process stages. */
  view?: PipelineView;
  ready?: () => boolean;
  metrics: PipelineMetrics;
  logger: Logger;
  tokens?: Map<string, ApiRole>;
  version?: string;
}

/** The HTTP API: every feature an encapsulated plugin, OpenAPI at /docs, JSON errors without internals. */
export async function buildApi(options: ApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger.child({ stage: 'api' }) as FastifyBaseLogger,
    // Probes and scrapes arrive every few seconds; logging them would drown the useful lines.
    logController: new LogController({ disableRequestLogging: (req) => PROBES.has(req.url.split('?')[0]!) }),
    bodyLimit: 64 * 1024,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  app.setErrorHandler((error, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      const where = error.validationContext ?? 'request';
      const message = error.validation.map((v) => `${where}${v.instancePath ? v.instancePath.replaceAll('/', '.') : ''}: ${v.message}`).join('; ');
      return reply.code(400).send({ error: 'bad-request', message });
    }
    const status = (error as { statusCode?: number }).statusCode ?? 500;
    if (status < 500) return reply.code(status).send({ error: 'bad-request', message: (error as Error).message });
    request.log.error({ err: error, url: request.url }, 'request failed');
    return reply.code(500).send({ error: 'internal', message: 'internal error; see the server log' });
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: 'not-found', message: `no route ${request.method} ${request.url.split('?')[0]}` }));

  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'City Brain API', description: 'KPIs, nodes, alerts and the live stream of the City Brain pipeline', version: options.version ?? '0.1.0' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });

  const { view } = options;
  await app.register(healthRoutes, { ready: options.ready ?? (() => view?.ready() ?? true), metrics: options.metrics });
  if (view) {
    const routeOptions = { view, tokens: options.tokens };
    await app.register(kpiRoutes, routeOptions);
    await app.register(nodeRoutes, routeOptions);
    await app.register(alertRoutes, routeOptions);
    await app.register(streamRoutes, routeOptions);
  }
  return app;
}
