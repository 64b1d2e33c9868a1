import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PipelineMetrics, type Kpis, type PipelineEvent, type PipelineView } from '../core/index.js';
import { defaultKinds } from '../core/kinds/modules.js';
import { applyPatch, type PatchOp } from '../core/json-patch.js';
import { buildApi } from './server.js';

/**
 * The live stream's KPI events over real HTTP: a client gets the whole document once and then only
 * what changed, of the sections it chose, and the document it rebuilds equals every evaluation.
 * The view is a stand-in that emits hand-made evaluations (the pipeline's own are in bin/ tests).
 */
describe('live stream KPI updates', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => app?.close());

  const listeners = new Set<(event: PipelineEvent) => void>();
  const emit = (kpis: Kpis) => listeners.forEach((l) => l({ type: 'kpis', kpis }));
  let current: Kpis | undefined;
  const view: PipelineView = {
    ready: () => current !== undefined,
    kpis: () => current!,
    nodes: () => ({ total: 0, items: [] }),
    node: () => undefined,
    alerts: () => [],
    acknowledge: async () => ({ ok: false, error: 'not-found' }),
    note: async () => ({ ok: false, error: 'not-found' }),
    subscribe: (listener) => (listeners.add(listener), () => listeners.delete(listener)),
  };

  /** A city of `lots` parking lots, `changed` of them with one more car at evaluation `n`. */
  const evaluation = (n: number, lots: number, changed: number): Kpis =>
    ({
      evaluatedAt: 1_000 * n,
      nodes: { total: lots * 40, online: lots * 40 },
      parking: {
        lots,
        list: Array.from({ length: lots }, (_, i) => ({
          lotId: `LOT-${String(i).padStart(5, '0')}`,
          lotName: `Lot ${i} on a street with a long name`,
          spaces: 40,
          occupied: 10 + (i < changed ? n : 0),
          state: 'normal',
        })),
      },
      noise: { stations: 3, complianceRate: 1 },
    }) as unknown as Kpis;

  async function stream(query = '') {
    const address = app!.server.address() as { port: number };
    const controller = new AbortController();
    const res = await fetch(`http://127.0.0.1:${address.port}/api/v1/stream${query}`, { signal: controller.signal });
    const events: { type: string; data: { kpis?: Record<string, unknown>; patch?: PatchOp[] }; bytes: number }[] = [];
    void (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end + 2);
            buffer = buffer.slice(end + 2);
            const type = /^event: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (type && data) events.push({ type, data: JSON.parse(data), bytes: Buffer.byteLength(block) });
          }
        }
      } catch {
        /* aborted */
      }
    })();
    return { res, events, stop: () => controller.abort() };
  }

  async function start() {
    app = await buildApi({
      view,
      kinds: defaultKinds(),
      metrics: new PipelineMetrics({ defaultMetrics: false }),
      logger: pino({ level: 'silent' }),
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
  }

  it('sends the whole document once, then patches that rebuild every evaluation', async () => {
    current = evaluation(0, 2_000, 0);
    await start();
    emit(current);
    const client = await stream();
    // Connected between evaluations: the latest one at once, whole.
    await vi.waitFor(() => expect(client.events).toHaveLength(1));
    expect(client.events[0]!.type).toBe('kpis');
    const doc = structuredClone(client.events[0]!.data.kpis!);
    expect(doc).toEqual(current);
    for (let n = 1; n <= 5; n++) {
      current = evaluation(n, 2_000, 20);
      emit(current);
      await vi.waitFor(() => expect(client.events).toHaveLength(n + 1));
      const event = client.events[n]!;
      expect(event.type).toBe('kpis-patch');
      applyPatch(doc, event.data.patch!);
      expect(doc).toEqual(current);
      // 20 of 2,000 lots changed: the patch is a small part of the document.
      expect(event.bytes).toBeLessThan(client.events[0]!.bytes / 50);
    }
    expect(client.events[1]!.data.patch).toContainEqual({ op: 'replace', path: '/parking/list/0/occupied', value: 11 });
    client.stop();
  });

  it('follows only the sections asked for, and refuses one the pipeline does not have', async () => {
    current = evaluation(0, 10, 0);
    await start();
    const client = await stream('?sections=noise,nodes');
    emit(current);
    await vi.waitFor(() => expect(client.events).toHaveLength(1));
    expect(client.events[0]!.data.kpis).toEqual({ evaluatedAt: 0, nodes: current.nodes, noise: current.noise });
    current = evaluation(1, 10, 5);
    emit(current);
    await vi.waitFor(() => expect(client.events).toHaveLength(2));
    // Parking changed, nothing else but the time: the patch says only that.
    expect(client.events[1]!.data.patch).toEqual([{ op: 'replace', path: '/evaluatedAt', value: 1000 }]);
    client.stop();

    const bad = await fetch(`http://127.0.0.1:${(app!.server.address() as { port: number }).port}/api/v1/stream?sections=noise,toaster`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'bad-request', message: expect.stringContaining('parking') });
  });
});
