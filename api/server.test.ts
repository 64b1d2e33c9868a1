import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { PipelineMetrics, type ApiRole, type PipelineEvent } from '../core/index.js';
import { RECENT_UPDATES } from './kpi-feed.js';
import { buildApi, type ApiOptions } from './server.js';
import { defaultKinds } from '../core/kinds/modules.js';
import { startTestFeed } from '../test/registry-feed.js';
import { stubView } from '../test/stub-view.js';

const SECRET = 'db-password-hunter2';
const CREW = 'crew-token-0123456789ab';
const VIEWER = 'viewer-token-0123456789';

/**
 * The HTTP hardening over real HTTP: a failing handler answers 500 without internals and logs
 * neither a stack nor a secret; protected mode without API_TOKENS; per-IP rate limit; CORS only
 * when configured. The view is a stand-in: these tests are about the HTTP layer, not the pipeline.
 */
describe('API hardening', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => app?.close());

  const view = stubView({
    kpis: () => {
      throw new Error(`connection to postgres://admin:${SECRET}@db failed`);
    },
  });

  async function start(options: Partial<ApiOptions> = {}) {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
    app = await buildApi({
      view,
      kinds: defaultKinds(),
      metrics: new PipelineMetrics({ defaultMetrics: false }),
      logger: pino({ level: 'info' }, sink),
      ...options,
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address() as { port: number };
    return { url: `http://127.0.0.1:${address.port}`, log: () => lines.join('') };
  }

  it('answers an internal error with a 500 that carries no stack or secret, and logs neither', async () => {
    const { url, log } = await start({ tokens: new Map<string, ApiRole>([[CREW, 'crew']]) });
    const res = await fetch(`${url}/api/v1/kpis`, { headers: { authorization: `Bearer ${CREW}` } });
    expect(res.status).toBe(500);
    const body = await res.text();
    expect(JSON.parse(body)).toEqual({ error: 'internal', message: 'internal error; see the server log' });
    expect(body).not.toContain(SECRET);
    expect(log()).toContain('request failed');
    expect(log()).not.toMatch(/\n\s+at |"stack"/);
    expect(log()).not.toContain(CREW);
    expect(log()).not.toContain(SECRET);
    expect(log()).toContain('postgres://***@db');
  });

  it('rejects bad input with a 400 naming the parameter', async () => {
    const { url } = await start();
    const res = await fetch(`${url}/api/v1/alerts/not-an-id/ack`, { method: 'POST' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: 'bad-request',
      message: expect.stringMatching(/params\.id: alert ids are 16 hex characters/),
    });
  });

  it('refuses a query parameter a route does not know, by name, on routes with and without a query', async () => {
    const { url } = await start();
    for (const [path, name] of [
      ['/api/v1/alerts?stat=firing', 'stat'],
      ['/api/v1/kpis?section=lighting', 'section'],
      ['/api/v1/nodes?kind=streetlight&limt=5', 'limt'],
    ] as const) {
      const res = await fetch(`${url}${path}`);
      expect(res.status, path).toBe(400);
      expect(await res.json(), path).toEqual({ error: 'bad-request', message: `querystring: Unrecognized key: "${name}"` });
    }
    // The parameters a route knows still pass.
    expect((await fetch(`${url}/api/v1/alerts?state=firing`)).status).toBe(200);
  });

  it('authenticates before it validates on every /api route the server has: no token or a bad one learns nothing but 401, a low role 403', async () => {
    const ADMIN = 'admin-token-0123456789a';
    const credentials = () => ({ file: undefined, summary: () => ({}), reload: async () => undefined });
    const { registry, feed, audit, stop } = await startTestFeed();
    onTestFinished(stop);
    const { url } = await start({
      registry: { registry, feed, audit, importMaxBytes: 1 << 20 },
      tokens: new Map<string, ApiRole>([
        [CREW, 'crew'],
        [VIEWER, 'viewer'],
        [ADMIN, 'admin'],
      ]),
      credentials,
    });
    // The routes as the server lists them (its OpenAPI document), so a route added later is probed too.
    const doc = (await (await fetch(`${url}/docs/json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const routes = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith('/api/'))
      .flatMap(([path, methods]) => Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })));
    expect(routes.length).toBeGreaterThanOrEqual(16);
    // Every parameter, query and body invalid: a route that validated first would answer 400.
    const junkQuery = '?limit=abc&offset=-1&state=nonsense&kind=toaster&status=x&readings=maybe&format=xml&dryRun=maybe&partial=7';
    const probe = (route: { method: string; path: string }, token?: string) =>
      fetch(`${url}${route.path.replace(/\{[^}]+\}/g, 'not%20an%20id')}${junkQuery}`, {
        method: route.method,
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        ...(route.method === 'GET' || route.method === 'HEAD' ? {} : { body: 'not json' }),
      });
    for (const route of routes) {
      for (const token of [undefined, 'not-a-token-0000000000']) {
        const res = await probe(route, token);
        expect(res.status, `${route.method} ${route.path} token ${token}`).toBe(401);
        expect(await res.json()).toEqual({ error: 'unauthorized', message: 'a valid bearer token is required' });
      }
      // With a valid token the same request reaches the route and is judged on its content (never a 401).
      const admitted = await probe(route, ADMIN);
      expect(admitted.status, `${route.method} ${route.path} as admin`).not.toBe(401);
      await admitted.body?.cancel();
    }
    const low = await fetch(`${url}/api/v1/alerts/not-an-id/ack`, {
      method: 'POST',
      body: '{"by": 7}',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${VIEWER}` },
    });
    expect(low.status).toBe(403);
    // With the right role, the same request is judged on its content.
    const crew = await fetch(`${url}/api/v1/alerts/not-an-id/ack`, {
      method: 'POST',
      body: '{"by": 7}',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${CREW}` },
    });
    expect(crew.status).toBe(400);
  });

  it('refuses to start with an /api route that does not authenticate first', async () => {
    const { requireRole } = await import('./auth.js');
    const tokens = new Map<string, ApiRole>([[CREW, 'crew']]);
    app = await buildApi({
      view,
      kinds: defaultKinds(),
      metrics: new PipelineMetrics({ defaultMetrics: false }),
      logger: pino({ level: 'silent' }),
      tokens,
    });
    const register = async () => {
      await app!.register(async (scope) => {
        scope.get('/api/v1/guarded', { onRequest: requireRole(tokens, 'viewer') }, async () => ({}));
        scope.get('/api/v1/open', async () => ({}));
      });
    };
    await expect(register()).rejects.toThrow(/GET \/api\/v1\/open must authenticate before it validates/);
    app = undefined;
  });

  it('without API_TOKENS: anyone may read, only this host may acknowledge', async () => {
    const { url } = await start();
    expect((await fetch(`${url}/api/v1/alerts`)).status).toBe(200);
    expect((await fetch(`${url}/api/v1/alerts/0123456789abcdef/ack`, { method: 'POST' })).status).toBe(404); // loopback: reaches the handler
    const remote = await app!.inject({ method: 'POST', url: '/api/v1/alerts/0123456789abcdef/ack', remoteAddress: '10.1.2.3' });
    expect(remote.statusCode).toBe(401);
    expect(remote.json()).toMatchObject({ error: 'unauthorized', message: expect.stringContaining('API_TOKENS') });
    expect((await app!.inject({ method: 'GET', url: '/api/v1/alerts', remoteAddress: '10.1.2.3' })).statusCode).toBe(200);
  });

  it('an alert change no instance could make (no aggregating api instance right now) is a 503 not-ready', async () => {
    const { url } = await start({ view: { ...view, acknowledge: async () => ({ ok: false, error: 'unavailable' }) } });
    const res = await fetch(`${url}/api/v1/alerts/0123456789abcdef/ack`, { method: 'POST' });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: 'not-ready', message: expect.stringContaining('try again') });
  });

  it('limits requests per IP and minute with a 429, never the probes', async () => {
    const { url } = await start({ rateLimitPerMin: 3 });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await fetch(`${url}/api/v1/alerts`)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await fetch(`${url}/api/v1/alerts`);
    expect(await limited.json()).toMatchObject({ error: 'rate-limited' });
    expect(limited.headers.get('retry-after')).toBeTruthy();
    for (let i = 0; i < 5; i++) expect((await fetch(`${url}/metrics`)).status).toBe(200);
  });

  it('sends CORS headers only for configured origins', async () => {
    const origin = 'https://ops.example.org';
    const closed = await start();
    expect((await fetch(`${closed.url}/api/v1/alerts`, { headers: { origin } })).headers.get('access-control-allow-origin')).toBeNull();
    await app!.close();
    const open = await start({ corsOrigins: [origin] });
    expect((await fetch(`${open.url}/api/v1/alerts`, { headers: { origin } })).headers.get('access-control-allow-origin')).toBe(origin);
    expect(
      (await fetch(`${open.url}/api/v1/alerts`, { headers: { origin: 'https://evil.example.com' } })).headers.get(
        'access-control-allow-origin',
      ),
    ).toBeNull();
    const preflight = await fetch(`${open.url}/api/v1/alerts/0123456789abcdef/ack`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
  });

  for (const [behind, catchUp] of [
    [4, 'the patches it missed'],
    [RECENT_UPDATES + 4, 'the whole document again, the missed patches no longer kept'],
  ] as const)
    it(`live stream: a client slower than the evaluations skips KPI updates instead of being cut off, then gets ${catchUp} (${behind} behind)`, async () => {
      const listeners = new Set<(event: PipelineEvent) => void>();
      const emit = (event: PipelineEvent) => listeners.forEach((l) => l(event));
      const { url } = await start({
        view: { ...view, subscribe: (listener) => (listeners.add(listener), () => listeners.delete(listener)) },
      });
      const socket = connect(Number(new URL(url).port), '127.0.0.1');
      let received = '';
      let closed = false;
      // Only the event names and times are kept: the padding would make megabytes of text.
      socket.on('data', (d: Buffer) => (received += d.toString('latin1').replace(/x{64,}/g, '')));
      socket.on('close', () => (closed = true));
      await new Promise((r) => socket.once('connect', r));
      try {
        socket.write('GET /api/v1/stream HTTP/1.1\r\nhost: x\r\n\r\n');
        await vi.waitFor(() => expect(received).toContain(': connected'));
        socket.pause(); // a slow reader: nothing more is read for now
        // Larger than what the loopback socket buffers take while nobody reads (a few MB); one string for all.
        const pad = 'x'.repeat(24_000_000);
        const kpis = (n: number) => ({ type: 'kpis', kpis: { evaluatedAt: n, pad } }) as unknown as PipelineEvent;
        for (let n = 1; n <= behind + 1; n++) {
          emit(kpis(n));
          await sleep(20);
        }
        socket.resume();
        // The first event whole (its end `"}}` and the blank line), so the server has written it out.
        await vi.waitFor(
          () => {
            const at = received.indexOf('"evaluatedAt":1,');
            expect(at >= 0 && received.indexOf('"}}\n\n', at) > at).toBe(true);
          },
          { timeout: 30_000 },
        );
        const last = behind + 2;
        emit(kpis(last)); // caught up: the next one arrives with what it missed
        const events = () =>
          [...received.matchAll(/event: (kpis|kpis-patch)\ndata: \{"type":"kpis(?:-patch)?","(?:kpis":\{")?evaluatedAt":(\d+),/g)].map(
            (m) => `${m[1]} ${m[2]}`,
          );
        await vi.waitFor(() => expect(events().at(-1)).toMatch(new RegExp(` ${last}$`)), { timeout: 10_000 });
        if (behind < RECENT_UPDATES)
          expect(events()).toEqual(['kpis 1', ...Array.from({ length: behind + 1 }, (_, i) => `kpis-patch ${i + 2}`)]);
        else expect(events()).toEqual(['kpis 1', `kpis ${last}`]);
        expect(closed).toBe(false);
      } finally {
        socket.destroy();
      }
    });
});
