import { createHash } from 'node:crypto';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type ApiRole, type KindCatalog, type PipelineEvent, type PipelineMetrics, type PipelineView } from '../../core/index.js';
import { requireRole } from '../auth.js';
import { sendError } from '../errors.js';
import { KpiFeed, type KpiUpdate, type SectionChoice } from '../kpi-feed.js';

const HEARTBEAT_MS = 15_000;
/**
 * A client that cannot keep up is cut off rather than buffering without bound; a KPI update is
 * skipped while the previous one is still being written, so a client slower than the evaluations
 * gets the latest KPIs instead of being cut off: once its socket has room again, as the patches
 * it missed (while the feed keeps them, RECENT_UPDATES) or else the whole document again (`kpis`).
 * Sending it whole at every catch-up kept a slow client behind for good: each whole document (1.5 MB
 * at 500,000 nodes) was still being written at the next evaluation.
 */
const MAX_BUFFERED_BYTES = 1 << 20;

/** Each event is serialised once for every client, and written as the same bytes. */
const encoded = new WeakMap<PipelineEvent, Buffer>();
function encode(event: PipelineEvent): Buffer {
  let bytes = encoded.get(event);
  if (!bytes) {
    bytes = Buffer.from(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    encoded.set(event, bytes);
  }
  return bytes;
}

/** Whose streams count together: the bearer token (as a hash, never the token itself), else the client address. */
function streamOwner(req: FastifyRequest, tokens: Map<string, ApiRole> | undefined): string {
  const match = tokens ? /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '') : null;
  return match ? `token:${createHash('sha256').update(match[1]!).digest('base64url').slice(0, 16)}` : `ip:${req.ip}`;
}

export interface StreamLimits {
  /** Streams open at once per token (per client address without API_TOKENS): STREAM_MAX_PER_TOKEN. */
  perToken: number;
  /** Streams open at once in total: STREAM_MAX_TOTAL. */
  total: number;
}

/**
 * Every open stream holds a socket, its buffers and a share of each event's writes, so their
 * number is capped per token (429) and in total (503); idle clients cannot pile up.
 */
export const streamRoutes: FastifyPluginAsync<{
  view: PipelineView;
  tokens?: Map<string, ApiRole>;
  metrics?: PipelineMetrics;
  limits: StreamLimits;
  kinds: KindCatalog;
}> = async (app, { view, tokens, metrics, limits, kinds }) => {
  const open = new Map<string, number>();
  let total = 0;
  // One comparison per evaluation for all clients; each client takes the changes of its sections.
  const feed = new KpiFeed();
  const clients = new Set<(update: KpiUpdate) => void>();
  const stopFeed = view.subscribe((event) => {
    if (event.type !== 'kpis') return;
    const update = feed.next(event.kpis, clients.size > 0);
    for (const client of clients) client(update);
  });
  app.addHook('onClose', async () => stopFeed());
  const sectionNames = ['nodes', ...kinds.modules().map((m) => m.section)] as [string, ...string[]];
  app.withTypeProvider<ZodTypeProvider>().get(
    '/api/v1/stream',
    {
      onRequest: requireRole(tokens, 'viewer'),
      schema: {
        summary:
          'Live server-sent events: kpis (the whole KPI document, first and after a skipped update), kpis-patch (JSON Patch of what changed since the last KPI event), alert and (with readings=true) reading events',
        tags: ['stream'],
        querystring: z.object({
          readings: z.enum(['true', 'false']).default('false'),
          sections: z
            .string()
            .max(512)
            .transform((v) => v.split(','))
            .pipe(z.array(z.enum(sectionNames)))
            .optional()
            .describe('KPI sections to follow, comma-separated (default: all)'),
          kind: z.enum(kinds.names() as [string, ...string[]]).optional(),
          district: z.string().max(64).optional(),
        }),
      },
    },
    (req, reply) => {
      const owner = streamOwner(req, tokens);
      if ((open.get(owner) ?? 0) >= limits.perToken) {
        metrics?.limitHits.inc({ limit: 'STREAM_MAX_PER_TOKEN' });
        return sendError(
          reply.header('retry-after', '30'),
          'too-many-streams',
          `at most ${limits.perToken} live streams per token at once; close one first`,
        );
      }
      if (total >= limits.total) {
        metrics?.limitHits.inc({ limit: 'STREAM_MAX_TOTAL' });
        return sendError(
          reply.header('retry-after', '30'),
          'streams-full',
          `the server holds its maximum of ${limits.total} live streams; try again later`,
        );
      }
      open.set(owner, (open.get(owner) ?? 0) + 1);
      metrics?.streamClients.set(++total);
      const { readings, kind, district } = req.query;
      const sections: SectionChoice = req.query.sections ? new Set(req.query.sections) : null;
      const wanted = (e: PipelineEvent) => {
        if (e.type === 'reading') return readings === 'true' && (!kind || e.kind === kind) && (!district || e.district === district);
        if (e.type === 'alert') return (!kind || e.alert.labels.kind === kind) && (!district || e.alert.labels.district === district);
        return false; // KPIs come from the feed
      };
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      res.write(': connected\n\n');
      let closed = false;
      const close = () => {
        if (closed) return;
        closed = true;
        const left = (open.get(owner) ?? 1) - 1;
        if (left > 0) open.set(owner, left);
        else open.delete(owner);
        metrics?.streamClients.set(--total);
        unsubscribe();
        clients.delete(onKpis);
        clearInterval(heartbeat);
        res.end();
      };
      const unsubscribe = view.subscribe((event) => {
        if (!wanted(event)) return;
        if (res.writableLength > MAX_BUFFERED_BYTES) return close();
        res.write(encode(event));
      });
      // Which evaluation this client holds (null: none yet).
      let holds: number | null = null;
      const onKpis = (update: KpiUpdate) => {
        if (res.writableLength > 0) return;
        const missed = holds === null ? undefined : feed.since(holds);
        if (missed) for (const u of missed) res.write(u.patch(sections));
        else res.write(update.full(sections));
        holds = update.seq;
      };
      clients.add(onKpis);
      // The latest evaluation at once, not at the next one.
      if (feed.latest) {
        res.write(feed.latest.full(sections));
        holds = feed.latest.seq;
      }
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
      req.raw.on('close', close);
      res.on('close', close);
      if (res.destroyed) close();
      // Hijacked: this handler answers through res itself, so fastify is handed nothing to send.
      return undefined;
    },
  );
};
