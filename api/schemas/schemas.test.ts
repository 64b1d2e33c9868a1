import { describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import {
  generateCity,
  parseNode,
  PipelineMetrics,
  type Alert,
  type AlertCondition,
  type Kind,
  type Kpis,
  type NodeHealthView,
  type NodeView,
  type PipelineView,
  type ProfileKpis,
  type ProfileNode,
  type RegistryNode,
} from '../../core/index.js';
import { pino } from 'pino';
// The kinds' processors and mergers, one by one: the test assembles the document as the aggregator does.
import { AlertEvaluator } from '../../processors/alerts/evaluator.js';
import { GroundwaterMerger } from '../../core/kinds/groundwater/merge.js';
import { groundwaterKpisSchema } from '../../core/kinds/groundwater/kpis.js';
import { GroundwaterProcessor, type WellRow } from '../../core/kinds/groundwater/processor.js';
import { nodeHealthKpisSchema } from '../../processors/health/kpis.js';
import { HealthMerger, NodeHealth } from '../../processors/health/processor.js';
import { lightingKpisSchema } from '../../core/kinds/streetlight/kpis.js';
import { LightingMerger } from '../../core/kinds/streetlight/merge.js';
import { LightingProcessor } from '../../core/kinds/streetlight/processor.js';
import { noiseKpisSchema } from '../../core/kinds/noise/kpis.js';
import { NoiseMerger } from '../../core/kinds/noise/merge.js';
import { NoiseProcessor, type StationRow } from '../../core/kinds/noise/processor.js';
import { parkingKpisSchema } from '../../core/kinds/parking/kpis.js';
import { ProfileMerger } from '../../processors/profile/merge.js';
import { ProfileProcessor } from '../../processors/profile/processor.js';
import { ParkingMerger } from '../../core/kinds/parking/merge.js';
import { ParkingProcessor } from '../../core/kinds/parking/processor.js';
import type { EvalContext, KindMerger, KindProcessor } from '../../processors/types.js';
import { generateReading } from '../../simulators/models/index.js';
import { buildScenario } from '../../simulators/scenarios.js';
import { at, config, record } from '../../test/fixtures.js';
import { buildApi } from '../server.js';
import {
  alertListSchema,
  alertSchema,
  kpisSchema,
  nodeHealthSchema,
  nodePageSchema,
  nodeViewSchema,
  profileKpisSchema,
  profileNodeRowSchema,
} from './index.js';
import { defaultKinds } from '../../core/kinds/modules.js';

/**
 * The response schemas against real documents: the built-in mergers' KPIs over a generated city fed
 * 100 simulated minutes of the demo scenario (a dark circuit, wells below their lines, a full lot,
 * a noisy station, silent and never-seen nodes, rejections). fastify-type-provider-zod serializes
 * responses through these schemas, so a field a schema lacks would silently vanish from the API:
 * parsing must give back exactly what the mergers wrote.
 */
const city = generateCity(defaultKinds(), { lamps: 300, parkingSpaces: 200, noiseStations: 12, wells: 8, seed: 7 });
const START = at('2026-06-21T21:30:00'); // lamps on, a night hour closes at 22:00 and 23:00
const END = START + 100 * 60_000;
const cfg = config();
const ctx: EvalContext = { now: END, since: START, config: cfg, registry: city };

type AnyProcessor = KindProcessor<Kind> & {
  apply(r: unknown, n: RegistryNode): void;
  partial(n: readonly RegistryNode[], c: EvalContext): { section: unknown; conditions: AlertCondition[] };
};
const processors = {
  streetlight: new LightingProcessor(),
  groundwater: new GroundwaterProcessor(cfg.GROUNDWATER_HYSTERESIS_M),
  noise: new NoiseProcessor(),
  parking: new ParkingProcessor({ reorderWindowMs: cfg.ALLOWED_LATENESS_S * 1000 }),
} as unknown as Record<Kind, AnyProcessor>;
const mergers: Record<Kind, KindMerger> = {
  streetlight: new LightingMerger(),
  groundwater: new GroundwaterMerger(),
  noise: new NoiseMerger(),
  parking: new ParkingMerger(),
};
const sectionOf: Record<Kind, 'lighting' | 'groundwater' | 'noise' | 'parking'> = {
  streetlight: 'lighting',
  groundwater: 'groundwater',
  noise: 'noise',
  parking: 'parking',
};
const health = new NodeHealth();

const nodes = [...city.all()].filter((n) => !city.kinds.get(n.kind)!.profile);
const scenario = buildScenario('demo', nodes, { seed: 3, start: START, kinds: defaultKinds() });
nodes.forEach((node, i) => {
  if (i % 40 === 0) return; // never seen
  const until = i % 40 === 1 ? START + 10 * 60_000 : END; // silent after ten minutes
  const every = city.expectedIntervalS(node) * 1000;
  for (let t = START + (i % 7) * 1000; t < until; t += every) {
    const r = record(node as never, generateReading(node, t, { seed: 3, scenario, kinds: defaultKinds() }) as never);
    processors[node.kind as Kind].apply(r, node);
    health.apply(r, t);
  }
});
for (let i = 0; i < 60; i++) health.noteRejected(0, i % 2 ? 'schema' : 'unknown-node', Date.now());

/**
 * The shipped profile kinds' sections from their real processor and merger: waterlogging points
 * over 15 cm and over the closure depth (rows with runs and rules), a cover open and one tilted.
 */
const catalog = defaultKinds();
const profileKinds = new Map<string, { processor: ProfileProcessor; nodes: ProfileNode[] }>();
function profileNodes(kind: string, count: number, attrs: (i: number) => Record<string, unknown>): ProfileNode[] {
  return Array.from({ length: count }, (_, i) => {
    const parsed = parseNode(
      {
        nodeId: `${kind.slice(0, 2).toUpperCase()}-${i}`,
        kind,
        district: i % 2 ? 'Lixia' : 'Shizhong',
        lat: 36.66,
        lon: 117.02,
        ...attrs(i),
      },
      catalog,
    );
    if (!parsed.success) throw new Error(parsed.error.message);
    return parsed.data;
  });
}
function profileSection(kind: string, nodes: ProfileNode[], values: (i: number, t: number) => Record<string, unknown> | null): ProfileKpis {
  const profile = catalog.get(kind)!.profile!;
  const processor = new ProfileProcessor(profile);
  profileKinds.set(kind, { processor, nodes });
  nodes.forEach((node, i) => {
    for (let t = START; t < END; t += 60_000) {
      const v = values(i, t);
      if (v)
        processor.apply(
          {
            type: 'reading',
            nodeId: node.nodeId,
            kind,
            district: node.district,
            receivedAt: t,
            reading: { ts: t, ...v },
          },
          node,
        );
    }
  });
  const partial = processor.partial(nodes, ctx);
  return new ProfileMerger(profile).merge([partial.section], ctx).kpis as unknown as ProfileKpis;
}
const waterlogging = profileSection(
  'waterlogging',
  profileNodes('waterlogging', 6, (i) => ({ point: `Underpass ${i}`, underpass: i % 2 === 0 })),
  (i, t) =>
    i === 5 ? null : { depthM: [0.41, 0.2, 0.01, 0.02, t > START + 60 * 60_000 ? 0.18 : 0.05][i]!, ...(i < 2 ? { rainMmPerH: 60 } : {}) },
);
const manhole = profileSection(
  'manhole',
  profileNodes('manhole', 4, () => ({ road: 'Jingshi Road' })),
  (i) => ({ open: i === 0, tiltDeg: i === 1 ? 20 : 1, ...(i === 2 ? { waterBelowM: 1.5 } : {}) }),
);

/** The KPI document of the default kinds, typed section by section. */
type KpisDocument = {
  evaluatedAt: number;
  lighting: z.output<typeof lightingKpisSchema>;
  groundwater: z.output<typeof groundwaterKpisSchema>;
  noise: z.output<typeof noiseKpisSchema>;
  parking: z.output<typeof parkingKpisSchema>;
  nodes: z.output<typeof nodeHealthKpisSchema>;
  waterlogging: ProfileKpis;
  manhole: ProfileKpis;
};
/** `/api/v1/kpis` of the default kinds (a zod object at run time). */
const documentSchema = kpisSchema(defaultKinds()) as unknown as z.ZodObject;

/** The KPI document as the aggregator assembles it: sections by kind, evaluatedAt, node health, profile sections. */
function kpiDocument(evalCtx: EvalContext, fed: boolean): { kpis: KpisDocument; conditions: AlertCondition[] } {
  const conditions: AlertCondition[] = [];
  const sections = {} as Record<string, unknown>;
  for (const kind of Object.keys(mergers) as Kind[]) {
    const partial = fed ? [processors[kind].partial(city.ofKind(kind), evalCtx)] : [];
    const merged = mergers[kind].merge(
      partial.map((p) => p.section),
      evalCtx,
    );
    sections[sectionOf[kind]] = merged.kpis;
    conditions.push(...partial.flatMap((p) => p.conditions), ...merged.conditions);
  }
  const h = fed ? health.partial(nodes, evalCtx) : undefined;
  const merged = new HealthMerger().merge(h ? [h.section] : [], fed ? [health.rejections(0, Date.now())] : [], evalCtx);
  conditions.push(...(h?.conditions ?? []), ...merged.conditions);
  const kpis = { ...sections, evaluatedAt: evalCtx.now, nodes: merged.kpis, waterlogging, manhole } as unknown as KpisDocument;
  return { kpis, conditions };
}

const night = kpiDocument(ctx, true);
// Fresh mergers in the day, before any partial: the null paths (no rate, no hour, no occupancy).
for (const kind of Object.keys(mergers) as Kind[]) mergers[kind] = new (mergers[kind].constructor as new () => KindMerger)();
const empty = kpiDocument({ ...ctx, now: at('2026-06-22T12:00:00') }, false);

/** JSON as the client receives it (undefined-valued keys gone). */
const json = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;

describe('KPI schemas: nothing the mergers write is dropped', () => {
  it('the document exercises what it should (a dark night, reporting wells and stations, lots, silent nodes, rejections, profile rows)', () => {
    const k = night.kpis;
    expect(waterlogging.list.length).toBeGreaterThan(1);
    expect(waterlogging.list.some((r) => r.rules.length > 0 && Object.values(r.timeOver).some((s) => s > 0))).toBe(true);
    expect(Object.values(waterlogging.byDistrict).some((d) => Object.values(d.aggregates).includes(null) || d.reporting < d.nodes)).toBe(
      true,
    );
    expect(manhole.list.length).toBe(2);
    expect(k.lighting.scheduledOn).toBe(true);
    expect(k.lighting.rate).not.toBeNull();
    expect(k.lighting.roads.total).toBeGreaterThan(0);
    expect(Object.keys(k.lighting.byRoadClass).length).toBeGreaterThan(1);
    expect(k.groundwater.list.some((w) => w.level !== null && 'trend24hCmPerDay' in w)).toBe(true);
    expect(k.noise.list.some((s) => s.lastHour.complete)).toBe(true);
    expect(k.parking.list.length).toBeGreaterThan(0);
    expect(k.nodes.neverSeen).toBeGreaterThan(0);
    expect(k.nodes.offline).toBeGreaterThan(k.nodes.neverSeen);
    expect(Object.keys(k.nodes.rejectedLast5m)).toEqual(expect.arrayContaining(['schema', 'unknown-node']));
    expect(empty.kpis.lighting.rate).toBeNull();
    expect(empty.kpis.noise.hour).toBeNull();
  });

  for (const [name, doc] of [
    ['night', night],
    ['empty day', empty],
  ] as const) {
    it(`${name}: parsing the whole document gives back every field`, () => {
      expect(documentSchema.parse(doc.kpis)).toStrictEqual(doc.kpis);
      expect(json(documentSchema.encode(doc.kpis))).toEqual(json(doc.kpis));
    });
  }

  it("each section schema on its own, and profile kinds' sections under their names", () => {
    const k = night.kpis;
    expect(lightingKpisSchema.parse(k.lighting)).toStrictEqual(k.lighting);
    expect(groundwaterKpisSchema.parse(k.groundwater)).toStrictEqual(k.groundwater);
    expect(noiseKpisSchema.parse(k.noise)).toStrictEqual(k.noise);
    expect(parkingKpisSchema.parse(k.parking)).toStrictEqual(k.parking);
    expect(nodeHealthKpisSchema.parse(k.nodes)).toStrictEqual(k.nodes);
    expect(profileKpisSchema.parse(waterlogging)).toStrictEqual(waterlogging);
    expect(documentSchema.parse(k).waterlogging).toStrictEqual(waterlogging);
    expect(documentSchema.parse(k).manhole).toStrictEqual(manhole);
  });

  it('every field of every section is in the document, so the check above would see one missing from a schema', () => {
    const shapes: Record<string, z.ZodObject> = {
      lighting: lightingKpisSchema,
      groundwater: groundwaterKpisSchema,
      noise: noiseKpisSchema,
      parking: parkingKpisSchema,
      nodes: nodeHealthKpisSchema,
    };
    for (const [section, schema] of Object.entries(shapes)) {
      for (const key of Object.keys(schema.shape)) {
        const without = documentSchema.extend({ [section]: schema.omit({ [key]: true } as never) });
        expect(without.parse(night.kpis), `${section}.${key}`).not.toStrictEqual(night.kpis);
      }
    }
    for (const key of Object.keys(profileKpisSchema.shape)) {
      const without = profileKpisSchema.omit({ [key]: true } as never);
      expect(documentSchema.extend({ waterlogging: without, manhole: without }).parse(night.kpis), `profile.${key}`).not.toStrictEqual(
        night.kpis,
      );
    }
  });
});

describe('node and alert schemas against real views', () => {
  const sample: RegistryNode[] = [
    ...city.ofKind('streetlight').slice(0, 3),
    ...city.ofKind('groundwater'),
    ...city.ofKind('noise').slice(0, 2),
    ...city.ofKind('parking').slice(0, 2),
  ];
  const views: NodeView[] = sample.map((node) => ({
    node,
    health: health.view(node, ctx),
    ...(processors[node.kind as Kind].describe(node as never, ctx) as object),
  }));
  // Profile nodes: their profile's attributes, and what their processor derived.
  for (const { processor, nodes: list } of profileKinds.values()) {
    for (const node of list)
      views.push({
        node,
        health: { online: true, lastSeen: END - 60_000, lastReceivedAt: END - 59_000, status: 'online', battery: 0.8 },
        ...processor.describe(node, ctx),
      });
  }

  it("node views, with their kind's attributes and what the processor derived", () => {
    expect(views.some((v) => v.derived !== undefined && v.latest !== undefined)).toBe(true);
    expect(views.some((v) => v.node.kind === 'waterlogging' && v.derived !== undefined && 'point' in v.node)).toBe(true);
    for (const v of views) expect(json(nodeViewSchema(catalog).parse(v))).toEqual(json(v));
    const page = { total: views.length, limit: 100, offset: 0, items: views.map(({ node, health: h }) => ({ node, health: h })) };
    expect(nodePageSchema(catalog).parse(page)).toStrictEqual(page);
  });

  it('alerts through their lifecycle: fired, located, acknowledged with notes, resolved', () => {
    const evaluator = new AlertEvaluator({ holdMs: 0, resolveHoldMs: 0, locate: () => ({ lat: 36.66, lon: 117.07 }) });
    const fired = evaluator.evaluate(night.conditions, END);
    expect(fired.length).toBeGreaterThan(3);
    const acked = evaluator.acknowledge(fired[0]!.id, { by: 'Wang Lei, crew 7', role: 'crew' }, END + 120_000, 'crew on site');
    expect(typeof acked).toBe('object');
    evaluator.evaluate(night.conditions.slice(1), END + 180_000);
    const all = [...evaluator.list(), ...evaluator.list('resolved')];
    expect(all.some((a) => a.notes?.length && a.acknowledgedBy)).toBe(true);
    expect(all.some((a) => a.value !== undefined)).toBe(true);
    const list = { total: all.length, items: all };
    expect(alertListSchema.parse(list)).toStrictEqual(list);
  });
});

describe('served through the routes: the HTTP response is the document', () => {
  it('GET /api/v1/kpis, /api/v1/nodes, /api/v1/nodes/:id and /api/v1/alerts answer what the view holds', async () => {
    const evaluator = new AlertEvaluator({ holdMs: 0, resolveHoldMs: 0 });
    evaluator.evaluate(night.conditions, END);
    evaluator.evaluate(night.conditions, END + 60_000);
    const lamp = city.ofKind('streetlight')[0]!;
    const point = profileKinds.get('waterlogging')!.nodes[0]!;
    const lampView: NodeView = {
      node: lamp,
      health: health.view(lamp, ctx),
      ...(processors.streetlight.describe(lamp, ctx) as object),
    };
    const view: PipelineView = {
      ready: () => true,
      kpis: () => night.kpis,
      // A profile node too: its attributes are parsed from text on the way in, and must still encode on the way out.
      nodes: () => ({
        total: 2,
        items: [
          { node: lamp, health: lampView.health },
          { node: point, health: lampView.health },
        ],
      }),
      node: (id) => (id === lamp.nodeId ? lampView : undefined),
      alerts: () => evaluator.list(),
      acknowledge: async () => ({ ok: false, error: 'not-found' }),
      note: async () => ({ ok: false, error: 'not-found' }),
      subscribe: () => () => undefined,
    };
    const app = await buildApi({
      view,
      kinds: catalog,
      metrics: new PipelineMetrics({ defaultMetrics: false }),
      logger: pino({ level: 'silent' }),
    });
    try {
      const kpis = await app.inject({ method: 'GET', url: '/api/v1/kpis' });
      expect(kpis.statusCode).toBe(200);
      expect(kpis.json()).toEqual(json(night.kpis));
      const page = await app.inject({ method: 'GET', url: '/api/v1/nodes' });
      expect(page.statusCode).toBe(200);
      expect(page.json()).toEqual(
        json({
          total: 2,
          limit: 100,
          offset: 0,
          items: [
            { node: lamp, health: lampView.health },
            { node: point, health: lampView.health },
          ],
        }),
      );
      const one = await app.inject({ method: 'GET', url: `/api/v1/nodes/${lamp.nodeId}` });
      expect(one.json()).toEqual(json(lampView));
      expect((await app.inject({ method: 'GET', url: '/api/v1/nodes/NOPE-1' })).json()).toMatchObject({ error: 'not-found' });
      const alerts = await app.inject({ method: 'GET', url: '/api/v1/alerts' });
      expect(alerts.json().items.length).toBeGreaterThan(0);
      expect(alerts.json()).toEqual(
        json({ total: evaluator.list().length, items: evaluator.list().sort((a, b) => b.updatedAt - a.updatedAt) }),
      );
    } finally {
      await app.close();
    }
  });
});

describe('schema types match the types of core and the processors', () => {
  it('compiles', () => {
    // Sections: the schemas' output fits the KPI document type of core/view.ts.
    expectTypeOf<KpisDocument>().toExtend<Kpis>();
    expectTypeOf<z.output<typeof profileKpisSchema>>().toEqualTypeOf<ProfileKpis>();
    expectTypeOf<z.output<typeof profileNodeRowSchema>>().toEqualTypeOf<ProfileKpis['list'][number]>();
    expectTypeOf<z.output<typeof noiseKpisSchema>['list'][number]>().toEqualTypeOf<StationRow>();
    expectTypeOf<WellRow>().toExtend<z.input<typeof groundwaterKpisSchema>['list'][number]>();
    // Nodes and alerts: what the view returns is what the schemas take.
    expectTypeOf<NodeHealthView>().toEqualTypeOf<z.output<typeof nodeHealthSchema>>();
    expectTypeOf<NodeView>().toExtend<z.input<ReturnType<typeof nodeViewSchema>>>();
    expectTypeOf<Alert>().toExtend<z.input<typeof alertSchema>>();
    expectTypeOf<z.output<typeof alertSchema>>().toExtend<Omit<Alert, 'alertname'>>();
  });
});
