import { Readable } from 'node:stream';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  auditEntries,
  decommissionChange,
  exportCsv,
  exportJson,
  planImport,
  readCsvImport,
  readJsonImport,
  topicLevel,
  type Actor,
  type ApiRole,
  type ImportPlan,
  type ImportRow,
  type NodeRegistry,
  type PendingRegistrations,
  type RegistryAudit,
  type RegistryChange,
  type RegistryFeed,
  type RowError,
} from '../../core/index.js';
import { requireRole } from '../auth.js';
import { sendError } from '../errors.js';

/** MQTT credentials of devices and gateways (ingest's credentials file): secrets are returned once, stored hashed. */
export interface DeviceCredentials {
  issue(
    principals: { type: 'device' | 'gateway'; id: string }[],
  ): Promise<{ type: string; id: string; username: string; password: string }[]>;
  /** False when the id has no credentials. */
  revoke(id: string): Promise<boolean>;
}

export interface RegistryRouteOptions {
  tokens?: Map<string, ApiRole>;
  registry: NodeRegistry;
  feed: RegistryFeed;
  audit: RegistryAudit;
  /** AUTO_REGISTER=quarantine: nodes first seen by ingest, waiting for an operator (absent: the pending routes answer 409). */
  pending?: PendingRegistrations;
  /** Absent when MQTT_CREDENTIALS is not set (or MQTT_AUTH=off): credential requests answer 409. */
  credentials?: DeviceCredentials;
  /** Largest import body (REGISTRY_IMPORT_MAX_BYTES). */
  importMaxBytes: number;
}

const actorOf = (req: FastifyRequest): Actor => ({
  name: req.principal?.name ?? 'anonymous',
  role: req.principal?.role ?? 'anonymous',
  ...(req.principal?.token ? { token: req.principal.token } : {}),
});

/** A 400 listing every invalid row (the first few in the message). */
function invalidRows(reply: FastifyReply, errors: RowError[]) {
  const shown = errors
    .slice(0, 5)
    .map((e) => `${e.entity} row ${e.row}${e.id ? ` (${e.id})` : ''}: ${e.reason}`)
    .join('; ');
  const more = errors.length > 5 ? `; and ${errors.length - 5} more` : '';
  return reply
    .code(400)
    .send({ error: 'invalid-rows', message: `${errors.length} invalid row(s), nothing applied: ${shown}${more}`, errors });
}

const body = z.record(z.string(), z.unknown());
const gatewayBody = body.describe('gatewayId, district, lat, lon, name, and `nodes`: the ids of the nodes behind it');
const params = z.object({ id: topicLevel });

/**
 * The registry managed through the API, while the pipeline runs: nodes and gateways created,
 * changed and decommissioned one at a time or imported in bulk (CSV or JSON), and exported in the
 * same formats. Every change is a record on the `registry` topic (RegistryFeed); a write answers
 * once this process applies it, and every stage of the pipeline applies it as it arrives.
 * Operators and admins write; viewers read.
 */
export const registryRoutes: FastifyPluginAsync<RegistryRouteOptions> = async (
  fastify,
  { tokens, registry, feed, audit, pending, credentials, importMaxBytes },
) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const write = requireRole(tokens, 'operator');
  const read = requireRole(tokens, 'viewer');
  app.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: importMaxBytes }, (_req, text, done) => done(null, text));

  const admin = requireRole(tokens, 'admin');
  const withCredentials = z.object({
    credentials: z.enum(['true', 'false']).default('false').describe('also issue MQTT credentials (admin): the secret is returned once'),
  });
  /** Why credentials cannot be issued for this request (role, configuration), or undefined. */
  const credentialsRefused = (req: FastifyRequest, reply: FastifyReply): FastifyReply | undefined => {
    if (req.principal?.role !== 'admin') return sendError(reply, 'forbidden', 'issuing MQTT credentials needs the admin role');
    if (!credentials)
      return sendError(
        reply,
        'not-here',
        'no MQTT credentials file to write: set MQTT_CREDENTIALS (with MQTT_AUTH=on) for the API and ingest',
      );
    return undefined;
  };
  /** The principals of an import that connect themselves: created gateways, and created nodes without a gateway. */
  const newPrincipals = (changes: RegistryChange[]) =>
    changes
      .filter((c) => c.op === 'create' && (c.entity === 'gateway' || (c.entity === 'node' && !c.value.gatewayId)))
      .map((c) => ({ type: c.entity === 'gateway' ? ('gateway' as const) : ('device' as const), id: c.id }));

  /** Makes changes: published (answered once applied here), then on the audit trail with what they replaced. */
  const commit = async (changes: RegistryChange[]) => {
    const entries = auditEntries(registry, changes);
    await feed.publish(changes, { checked: true });
    await audit.record(entries);
  };

  /** Plans rows, answers 400 with the invalid ones, else publishes and returns the plan. */
  const apply = async (reply: FastifyReply, rows: ImportRow[], by: Actor): Promise<ImportPlan | undefined> => {
    const plan = await planImport(registry, rows, by, Date.now());
    if (plan.errors.length > 0) {
      invalidRows(reply, plan.errors);
      return undefined;
    }
    await commit(plan.changes);
    return plan;
  };

  for (const entity of ['node', 'gateway'] as const) {
    const path = `/api/v1/${entity}s`;
    const idKey = entity === 'node' ? 'nodeId' : 'gatewayId';
    const current = (id: string) => (entity === 'node' ? registry.get(id) : registry.gateway(id));
    /** What a write answers: the entity as the registry now has it (a gateway with the nodes behind it). */
    const view = (id: string) =>
      entity === 'node'
        ? { node: registry.get(id) }
        : { gateway: registry.gateway(id), nodes: registry.nodesBehind(id).map((n) => n.nodeId) };
    const rowOf = (value: Record<string, unknown>): ImportRow => {
      if (entity === 'node') return { row: 1, entity, value };
      const { nodes, ...rest } = value;
      return { row: 1, entity, value: rest, ...(nodes !== undefined ? { nodes: nodes as string[] } : {}) };
    };

    app.post(
      path,
      {
        onRequest: write,
        schema: {
          summary: `Create a ${entity} (operator, admin): its whole record; with credentials=true (admin) also its MQTT credentials`,
          tags: ['registry'],
          querystring: withCredentials,
          body: entity === 'node' ? body : gatewayBody,
        },
      },
      async (req, reply) => {
        const id = req.body[idKey];
        if (typeof id === 'string' && current(id))
          return sendError(reply, 'exists', `${entity} ${id} exists already; change it with PATCH ${path}/${id}`);
        const wantsCredentials = req.query.credentials === 'true';
        if (wantsCredentials && credentialsRefused(req, reply)) return reply;
        const plan = await apply(reply, [rowOf(req.body)], actorOf(req));
        if (!plan) return reply;
        const issued = wantsCredentials
          ? await credentials!.issue([{ type: entity === 'node' ? 'device' : 'gateway', id: id as string }])
          : [];
        if (issued.length > 0) req.log.info({ by: actorOf(req), [idKey]: id }, 'mqtt credentials issued');
        return reply.code(201).send({ ...view(id as string), ...(issued[0] ? { credentials: issued[0] } : {}) });
      },
    );
    app.patch(
      `${path}/:id`,
      {
        onRequest: write,
        schema: {
          summary: `Change attributes of a ${entity} (operator, admin); null removes an optional one`,
          tags: ['registry'],
          params,
          body: entity === 'node' ? body : gatewayBody,
        },
      },
      async (req, reply) => {
        const { id } = req.params;
        const before = current(id);
        if (!before) return sendError(reply, 'not-found', `${entity} ${id} is not in service`);
        if (req.body[idKey] !== undefined && req.body[idKey] !== id)
          return sendError(reply, 'bad-request', `${idKey} cannot change (${id})`);
        const merged: Record<string, unknown> = { ...before };
        for (const [key, value] of Object.entries(req.body)) {
          if (value === null) delete merged[key];
          else merged[key] = value;
        }
        const plan = await apply(reply, [rowOf(merged)], actorOf(req));
        if (!plan) return reply;
        return view(id);
      },
    );
    app.delete(
      `${path}/:id`,
      {
        onRequest: write,
        schema: {
          summary: `Decommission a ${entity} (operator, admin): its readings are dead-lettered as decommissioned`,
          tags: ['registry'],
          params,
        },
      },
      async (req, reply) => {
        const change = decommissionChange(registry, entity, req.params.id, actorOf(req), Date.now());
        if (!change) return sendError(reply, 'not-found', `${entity} ${req.params.id} is not in service`);
        await commit([change]);
        // Its MQTT credentials end with it (its open session is closed).
        const revoked = (await credentials?.revoke(req.params.id)) ?? false;
        return { decommissioned: change.value, credentialsRevoked: revoked };
      },
    );
    app.post(
      `${path}/:id/credentials`,
      {
        onRequest: admin,
        schema: {
          summary: `Issue (or rotate) the MQTT credentials of a ${entity} (admin): the new secret is returned once`,
          tags: ['registry'],
          params,
        },
      },
      async (req, reply) => {
        if (credentialsRefused(req, reply)) return reply;
        if (!current(req.params.id)) return sendError(reply, 'not-found', `${entity} ${req.params.id} is not in service`);
        const [issued] = await credentials!.issue([{ type: entity === 'node' ? 'device' : 'gateway', id: req.params.id }]);
        req.log.info({ by: actorOf(req), [idKey]: req.params.id }, 'mqtt credentials issued');
        return { credentials: issued };
      },
    );
    app.delete(
      `${path}/:id/credentials`,
      {
        onRequest: admin,
        schema: {
          summary: `Revoke the MQTT credentials of a ${entity} (admin): its open session is closed, its reconnects refused`,
          tags: ['registry'],
          params,
        },
      },
      async (req, reply) => {
        if (credentialsRefused(req, reply)) return reply;
        if (!(await credentials!.revoke(req.params.id)))
          return sendError(reply, 'not-found', `${entity} ${req.params.id} has no MQTT credentials`);
        req.log.info({ by: actorOf(req), [idKey]: req.params.id }, 'mqtt credentials revoked');
        return { revoked: req.params.id };
      },
    );
  }
  app.get(
    '/api/v1/gateways/:id',
    { onRequest: read, schema: { summary: 'A gateway and the nodes behind it', tags: ['registry'], params } },
    async (req, reply) =>
      registry.gateway(req.params.id)
        ? { gateway: registry.gateway(req.params.id), nodes: registry.nodesBehind(req.params.id).map((n) => n.nodeId) }
        : sendError(reply, 'not-found', `gateway ${req.params.id} is not in service`),
  );

  app.post(
    '/api/v1/registry/import',
    {
      onRequest: write,
      bodyLimit: importMaxBytes,
      schema: {
        summary:
          'Import nodes, gateways and roads (operator, admin): CSV (text/csv) or JSON, upserted by id; with invalid rows nothing is applied unless partial=true',
        tags: ['registry'],
        querystring: withCredentials.extend({
          dryRun: z.enum(['true', 'false']).default('false').describe('judge and count, apply nothing'),
          partial: z.enum(['true', 'false']).default('false').describe('apply the valid rows even if others are invalid'),
        }),
        body: z.unknown(),
      },
    },
    async (req, reply) => {
      let rows: ImportRow[];
      try {
        rows = typeof req.body === 'string' ? await readCsvImport(req.body, registry.kinds) : readJsonImport(req.body);
      } catch (error) {
        return sendError(reply, 'bad-request', `not a registry import: ${(error as Error).message}`);
      }
      const wantsCredentials = req.query.credentials === 'true';
      if (wantsCredentials && credentialsRefused(req, reply)) return reply;
      const started = Date.now();
      const plan = await planImport(registry, rows, actorOf(req), started);
      const dryRun = req.query.dryRun === 'true';
      const partial = req.query.partial === 'true';
      if (plan.errors.length > 0 && !partial) return invalidRows(reply, plan.errors);
      if (!dryRun) await commit(plan.changes);
      const issued = wantsCredentials && !dryRun ? await credentials!.issue(newPrincipals(plan.changes)) : undefined;
      const summary = { rows: rows.length, created: plan.created, updated: plan.updated, unchanged: plan.unchanged };
      if (!dryRun)
        req.log.info(
          { by: actorOf(req), ...summary, invalid: plan.errors.length, credentials: issued?.length, ms: Date.now() - started },
          'registry import applied',
        );
      return {
        dryRun,
        applied: dryRun ? 0 : plan.changes.length,
        ...summary,
        errors: plan.errors,
        ...(issued ? { credentials: issued } : {}),
      };
    },
  );
  app.get(
    '/api/v1/registry/audit',
    {
      onRequest: write,
      schema: {
        summary:
          'The audit trail of registry changes, newest first: who (token name, role), what, when, before and after (operator, admin)',
        tags: ['registry'],
        querystring: z.object({
          entity: z.enum(['node', 'gateway', 'road']).optional(),
          id: z.string().max(200).optional(),
          limit: z.coerce.number().int().min(1).max(10_000).default(100),
        }),
      },
    },
    async (req) => ({ items: audit.list(req.query) }),
  );
  /** The pending list, or a 409 that says how to turn it on. */
  const pendingHere = (reply: FastifyReply): PendingRegistrations | undefined => {
    if (!pending) sendError(reply, 'not-here', 'registration on first sight is off: set AUTO_REGISTER=quarantine for ingest and the API');
    return pending;
  };
  app.get(
    '/api/v1/registry/pending',
    {
      onRequest: read,
      schema: {
        summary:
          'Nodes the registry does not know, first seen by ingest (AUTO_REGISTER=quarantine): the topic, the first message and the client; their readings are dead-lettered until approved',
        tags: ['registry'],
      },
    },
    async (_req, reply) => {
      const list = pendingHere(reply);
      return list ? { items: list.list() } : reply;
    },
  );
  app.post(
    '/api/v1/registry/pending/:id/approve',
    {
      onRequest: write,
      schema: {
        summary:
          'Approve a pending node (operator, admin): created with the attributes in the body; kind, district and gateway default to what its topic said',
        tags: ['registry'],
        params,
        body,
      },
    },
    async (req, reply) => {
      const list = pendingHere(reply);
      if (!list) return reply;
      const sighting = list.get(req.params.id);
      if (!sighting) return sendError(reply, 'not-found', `node ${req.params.id} is not pending (see GET /api/v1/registry/pending)`);
      if (req.body.nodeId !== undefined && req.body.nodeId !== req.params.id)
        return sendError(reply, 'bad-request', `nodeId cannot differ from the pending node's (${req.params.id})`);
      const { kind, district, gatewayId } = sighting;
      const value = {
        ...(kind ? { kind } : {}),
        ...(district ? { district } : {}),
        ...(gatewayId ? { gatewayId } : {}),
        ...req.body,
        nodeId: req.params.id,
      };
      const plan = await apply(reply, [{ row: 1, entity: 'node', value }], actorOf(req));
      if (!plan) return reply;
      req.log.info({ by: actorOf(req), nodeId: req.params.id }, 'pending node approved');
      return reply.code(201).send({ node: registry.get(req.params.id) });
    },
  );
  app.delete(
    '/api/v1/registry/pending/:id',
    {
      onRequest: write,
      schema: { summary: 'Dismiss a pending node (operator, admin): its readings stay dead-lettered', tags: ['registry'], params },
    },
    async (req, reply) => {
      const list = pendingHere(reply);
      if (!list) return reply;
      if (!list.get(req.params.id)) return sendError(reply, 'not-found', `node ${req.params.id} is not pending`);
      await list.dismiss(req.params.id, actorOf(req), Date.now());
      req.log.info({ by: actorOf(req), nodeId: req.params.id }, 'pending node dismissed');
      return { dismissed: req.params.id };
    },
  );
  app.get(
    '/api/v1/registry/export',
    {
      onRequest: read,
      schema: {
        summary: 'The registry in service, as CSV or JSON: what the import reads back',
        tags: ['registry'],
        querystring: z.object({ format: z.enum(['csv', 'json']).default('json') }),
      },
    },
    async (req, reply) => {
      if (req.query.format === 'json') return exportJson(registry);
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="registry.csv"')
        .send(Readable.from(exportCsv(registry)));
    },
  );
};
