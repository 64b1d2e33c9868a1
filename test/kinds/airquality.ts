/**
 * A throwaway built-in kind for the tests (not shipped): air-quality stations reporting PM2.5. It is
 * a whole kind module in one file, written the way a kind folder under core/kinds/ is, so a test
 * can add it to the one list (`[...BUILTIN_KINDS, airquality]`) and follow a reading through every
 * stage. PM2.5 over 75 ug/m3 (the GB 3095-2012 grade II 24 h limit) raises AirQualityPoor.
 */
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { z } from 'zod';
import { commonReading, type ProfileNode, type ProfileReadingRecord } from '../../core/index.js';
import type { KindModule } from '../../core/kinds/module.js';
import { cityDashboard, finish, influx, lastValue } from '../../dashboards/common.js';
import { selector } from '../../dashboards/influxql.js';
import { PointBuilder, readingRecord, snapshot, type Measurements } from '../../processors/sinks/influxdb/builder.js';
import { nsTime } from '../../processors/sinks/influxdb/shape.js';
import type { EvalContext, Evaluation, KindMerger, KindPartial, KindProcessor } from '../../processors/types.js';

export const PM25_LIMIT = 75;

const reading = z.object({ ...commonReading, pm25: z.number().min(0).max(1000) });
const attrs = z.object({ station: z.string().min(1) });

interface Tally {
  nodes: number;
  reporting: number;
  sum: number;
  max: number | null;
  over: number;
}
/** One partition's share: a tally per district. */
interface Section {
  districts: Record<string, Tally>;
}

const MEASUREMENTS = {
  airquality: {
    tags: { scope: ['city', 'district'], name: null },
    fields: { nodes: 'number', reporting: 'number', meanPm25: 'number', maxPm25: 'number', stationsOver: 'number' },
  },
  airquality_reading: { tags: { node: null, district: null }, fields: { pm25: 'number' } },
} as const satisfies Measurements;

/** Latest PM2.5 per station (a newer reading wins; a replay changes nothing). */
class AirQualityProcessor implements KindProcessor<'airquality', Section> {
  readonly kind = 'airquality';
  readonly #latest = new Map<string, { ts: number; pm25: number }>();

  apply(record: ProfileReadingRecord): void {
    const { ts, pm25 } = record.reading as { ts: number; pm25: number };
    const before = this.#latest.get(record.nodeId);
    if (!before || before.ts < ts) this.#latest.set(record.nodeId, { ts, pm25 });
  }

  partial(nodes: readonly ProfileNode[]): KindPartial<Section> {
    const districts: Record<string, Tally> = {};
    const conditions: KindPartial['conditions'] = [];
    for (const node of nodes) {
      const t = (districts[node.district] ??= { nodes: 0, reporting: 0, sum: 0, max: null, over: 0 });
      t.nodes++;
      const latest = this.#latest.get(node.nodeId);
      if (!latest) continue;
      t.reporting++;
      t.sum += latest.pm25;
      t.max = Math.max(t.max ?? latest.pm25, latest.pm25);
      if (latest.pm25 <= PM25_LIMIT) continue;
      t.over++;
      conditions.push({
        alertname: 'AirQualityPoor',
        severity: 'minor',
        labels: { kind: 'airquality', district: node.district, node: node.nodeId },
        summary: `${String(node.station)}: PM2.5 ${latest.pm25} ug/m3, over ${PM25_LIMIT}`,
        value: latest.pm25,
      });
    }
    return { section: { districts }, conditions };
  }

  exportNode(nodeId: string): unknown {
    return this.#latest.get(nodeId);
  }

  importNode(nodeId: string, state: unknown): void {
    this.#latest.set(nodeId, state as { ts: number; pm25: number });
  }

  describe(node: ProfileNode): { latest?: Record<string, unknown> } {
    const latest = this.#latest.get(node.nodeId);
    return latest ? { latest } : {};
  }
}

const add = (a: Tally, b: Tally): Tally => ({
  nodes: a.nodes + b.nodes,
  reporting: a.reporting + b.reporting,
  sum: a.sum + b.sum,
  max: a.max === null ? b.max : b.max === null ? a.max : Math.max(a.max, b.max),
  over: a.over + b.over,
});
const EMPTY: Tally = { nodes: 0, reporting: 0, sum: 0, max: null, over: 0 };
const kpisOf = (t: Tally) => ({
  nodes: t.nodes,
  reporting: t.reporting,
  meanPm25: t.reporting === 0 ? null : t.sum / t.reporting,
  maxPm25: t.max,
  stationsOver: t.over,
});

const group = z.object({
  nodes: z.number(),
  reporting: z.number(),
  meanPm25: z.number().nullable(),
  maxPm25: z.number().nullable(),
  stationsOver: z.number(),
});
const kpisSchema = group.extend({ byDistrict: z.record(z.string(), group) });

class AirQualityMerger implements KindMerger<Section> {
  merge(sections: Section[], _ctx: EvalContext): Evaluation {
    const byDistrict: Record<string, Tally> = {};
    for (const s of sections) for (const [d, t] of Object.entries(s.districts)) byDistrict[d] = add(byDistrict[d] ?? EMPTY, t);
    const city = Object.values(byDistrict).reduce(add, EMPTY);
    const kpis = {
      ...kpisOf(city),
      byDistrict: Object.fromEntries(
        Object.entries(byDistrict)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([d, t]) => [d, kpisOf(t)]),
      ),
    } satisfies z.output<typeof kpisSchema>;
    return { kpis, conditions: [] };
  }
}

const kpiRecord = snapshot(kpisSchema);
const rawReading = readingRecord('airquality', { pm25: z.number() });

const { select } = selector(MEASUREMENTS);

export const airquality: KindModule<'airquality', 'airquality', typeof reading, typeof attrs, Section, typeof MEASUREMENTS> = {
  name: 'airquality',
  section: 'airquality',
  reading,
  attrs,
  expectedIntervalS: 60,
  alerts: ['AirQualityPoor'],
  kpis: kpisSchema,
  metricsLists: [],
  processor: () => new AirQualityProcessor(),
  merger: () => new AirQualityMerger(),
  influx: {
    measurements: MEASUREMENTS,
    rollups: { airquality: ['meanPm25', 'maxPm25', 'stationsOver'] },
    kpiPoints(b: PointBuilder<typeof MEASUREMENTS>, value: unknown) {
      const s = kpiRecord.safeParse(value);
      if (!s.success) return false;
      const { ts, kpis } = s.data;
      const { byDistrict, ...city } = kpis;
      b.add('airquality', { scope: 'city', name: 'city' }, city, nsTime(ts));
      for (const [name, d] of Object.entries(byDistrict)) b.add('airquality', { scope: 'district', name }, d, nsTime(ts));
      return true;
    },
    readingPoints(b: PointBuilder<typeof MEASUREMENTS>, value: unknown) {
      const r = rawReading.safeParse(value);
      if (!r.success) return false;
      b.add(
        'airquality_reading',
        { node: r.data.nodeId, district: r.data.district },
        { pm25: r.data.reading.pm25 },
        nsTime(r.data.reading.ts),
      );
      return true;
    },
  },
  dashboard: () =>
    finish(
      cityDashboard('citybrain-airquality', 'City Brain: Air quality', 'PM2.5 by station and district.', ['airquality'])
        .withPanel(
          new stat.PanelBuilder()
            .title('City: mean PM2.5, stations over the limit')
            .withTarget(
              influx(select('airquality').agg('last', 'meanPm25', 'mean').agg('last', 'stationsOver', 'over').where('scope', 'city')),
            )
            .reduceOptions(lastValue()),
        )
        .withPanel(
          new timeseries.PanelBuilder()
            .title('PM2.5 by station')
            .withTarget(
              influx(select('airquality_reading').agg('mean', 'pm25', 'pm25').groupByTime().groupBy('node'), { alias: '$tag_node' }),
            ),
        ),
    ),
  model: (_node, t) => ({ ts: t, pm25: 35 + ((t / 60_000) % 10) }),
  sample: (_node, _ts, r) => ({ pm25: Math.round(r * 1500) / 10 }),
  violate: (reading, variant) => (variant === 0 ? { ...reading, pm25: 'hazy' } : { ...reading, pm25: -1 }),
};
