import fastifyCors from '@fastify/cors';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors, jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { z } from 'zod';
import {
  withDefaults,
  type ApiRole,
  type KindCatalog,
  type NodeRegistry,
  type PipelineMetrics,
  type PipelineView,
  type RegistryAudit,
  type RegistryFeed,
} from '../core/index.js';
import { adminRoutes, type CredentialAdmin } from './routes/admin.js';
import { alertRoutes } from './routes/alerts.js';
import { consoleRoutes } from './routes/console.js';
import { healthRoutes } from './routes/health.js';
import { kpiRoutes } from './routes/kpis.js';
import { nodeRoutes } from './routes/nodes.js';
import { registryRoutes, type DeviceCredentials } from './routes/registry.js';
import { streamRoutes } from './routes/stream.js';
import { sendError } from './errors.js';
import { authenticates } from './auth.js';

const PROBES = new Set(['/health', '/ready', '/metrics']);

export interface ApiOptions {
  /** Without a view only the ops routes (/health, /ready, /metrics) are served: the ingest and process stages. */
  view?: PipelineView;
  ready?: () => boolean;
  metrics: PipelineMetrics;
  logger: Logger;
  tokens?: Map<string, ApiRole>;
  version?: string;
  /** Requests per client IP and minute (probes and /metrics excepted; default 6000); beyond, 429. */
  rateLimitPerMin?: number;
  /** Origins allowed by CORS; absent: no CORS headers (browsers on other origins are refused). */
  corsOrigins?: string[];
  /** Live streams open at once per token (per client IP without tokens) and in total (defaults 10 and 100). */
  streams?: { perToken: number; total: number };
  /** The pipeline's kinds (built-in and profile): the KPI sections, node shapes and `kind` filters; required with a view. */
  kinds?: KindCatalog;
  /** The MQTT credential store of an ingest in this process, for the admin routes. */
  credentials?: () => CredentialAdmin | undefined;
  /** The registry and how to change it (the registry routes); `importMaxBytes`: REGISTRY_IMPORT_MAX_BYTES. */
  registry?: { registry: NodeRegistry; feed: RegistryFeed; audit: RegistryAudit; credentials?: DeviceCredentials; importMaxBytes: number };
}

/** The API's defaults (`ready`'s depends on the view: see buildApi). */
export const API_DEFAULTS = {
  version: '0.1.0',
  rateLimitPerMin: 6_000,
  streams: { perToken: 10, total: 100 },
};

/** The HTTP API: every feature an encapsulated plugin, OpenAPI at /docs, JSON errors without internals. */
export async function buildApi(options: ApiOptions): Promise<FastifyInstance> {
  const { version, rateLimitPerMin, streams } = withDefaults(API_DEFAULTS, options);
  const app = Fastify({
    // Access logs name the path only: query strings may carry what does not belong in a log.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- needed: without it fastify infers pino's Logger and the app's type no longer matches FastifyInstance
    loggerInstance: options.logger.child({ stage: 'api' }, { serializers: { req: accessLogRequest } }) as FastifyBaseLogger,
    // fastify's own access logging writes two lines per request; one is written below instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    // A city of 500,000 nodes evaluates for seconds on a busy machine; plugin loading shares that
    // event loop and must not time out the start-up (fastify's default is 10 s).
    pluginTimeout: 120_000,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // One access-log line per request, when it is answered. Probes and scrapes arrive every few
  // seconds; logging them would drown the useful lines.
  app.addHook('onResponse', async (request, reply) => {
    if (PROBES.has(request.url.split('?')[0]!)) return;
    request.log.info({ req: request, res: { statusCode: reply.statusCode }, responseTime: Math.round(reply.elapsedTime) }, 'request');
  });

  // Authenticate before validating, on every /api route: one registered without requireRole as its
  // onRequest hook would describe its schema (400) to a caller without a token. Checked here, at
  // registration, so a new route cannot forget it.
  // A query parameter an /api route does not know is refused by name, here for every route: a typo
  // (`?stat=firing`) must not answer as if the filter had not been asked for.
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/api/')) return;
    if (!authenticates(route.onRequest))
      throw new Error(
        `route ${String(route.method)} ${route.url} must authenticate before it validates: give it onRequest: requireRole(...)`,
      );
    const schema = (route.schema ??= {});
    const query: unknown = schema.querystring;
    if (query === undefined) schema.querystring = z.strictObject({});
    else if (query instanceof z.ZodObject) schema.querystring = query.strict();
  });

  app.setErrorHandler((error, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      const where = error.validationContext ?? 'request';
      const message = error.validation
        // instancePath is '/a/b', or '/' for the object itself (an unknown key): 'querystring.a.b', 'querystring'.
        .map((v) => `${[where, ...v.instancePath.split('/').filter(Boolean)].join('.')}: ${v.message}`)
        .join('; ');
      return sendError(reply, 'bad-request', message);
    }
    const status = (error as { statusCode?: number }).statusCode ?? 500;
    if (status === 429) return sendError(reply, 'rate-limited', (error as Error).message);
    // Any other refusal of fastify's own (a body over bodyLimit, a bad content type) keeps its status.
    if (status < 500) return reply.code(status).send({ error: 'bad-request', message: (error as Error).message });
    // The log gets the error's kind and message, not its stack (debug level has it) nor the request's headers.
    // Credentials inside URLs (scheme://user:password@host) are masked: messages of driver errors carry them.
    const message = String((error as Error).message).replace(/\/\/[^/\s:@]+:[^@\s]+@/g, '//***@');
    request.log.error({ error: (error as Error).name, message, method: request.method, url: request.url.split('?')[0] }, 'request failed');
    request.log.debug({ err: error }, 'request failure detail');
    return sendError(reply, 'internal', 'internal error; see the server log');
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, 'not-found', `no route ${request.method} ${request.url.split('?')[0]}`));

  // Scrapes and probes are not limited: a monitoring system must always get through.
  await app.register(fastifyRateLimit, {
    max: rateLimitPerMin,
    timeWindow: 60_000,
    allowList: (req) => PROBES.has(req.url.split('?')[0]!),
  });
  if (options.corsOrigins?.length) {
    await app.register(fastifyCors, {
      origin: options.corsOrigins.includes('*') ? '*' : options.corsOrigins,
      methods: ['GET', 'POST', 'PATCH', 'DELETE'],
      allowedHeaders: ['Authorization', 'Content-Type'],
    });
  }

  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'City Brain API',
        description: 'KPIs, nodes, alerts and the live stream of the City Brain pipeline',
        version,
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });

  const { view } = options;
  await app.register(healthRoutes, { ready: options.ready ?? (() => view?.ready() ?? true), metrics: options.metrics });
  if (view) {
    if (!options.kinds) throw new Error('buildApi: a view needs the kinds it serves (options.kinds)');
    const routeOptions = { view, tokens: options.tokens, kinds: options.kinds };
    await app.register(kpiRoutes, routeOptions);
    await app.register(nodeRoutes, routeOptions);
    await app.register(alertRoutes, routeOptions);
    await app.register(streamRoutes, {
      ...routeOptions,
      metrics: options.metrics,
      limits: streams,
    });
    await app.register(consoleRoutes);
    if (options.registry) await app.register(registryRoutes, { tokens: options.tokens, ...options.registry });
    if (options.credentials) await app.register(adminRoutes, { tokens: options.tokens, credentials: options.credentials });
  }
  return app;
}

/** What an access log line says about a request: method, path (never the query string), client address. */
function accessLogRequest(req: { method?: string; url?: string; ip?: string; socket?: { remotePort?: number } }): Record<string, unknown> {
  return { method: req.method, url: (req.url ?? '').split('?')[0], remoteAddress: req.ip, remotePort: req.socket?.remotePort };
}
