import { z } from 'zod';
import { alertPlace, NodeRegistry, TOPICS, type KindCatalog, type StreamRecord } from '../../../core/index.js';
import { epochMs, map, num, PointBuilder, snapshot, str, type Measurements, type TagValueOf } from './builder.js';
import { nsTime, type MeasurementSchema, type SinkPoint } from './shape.js';

export type { FieldType, MeasurementSchema, SinkPoint } from './shape.js';

/**
 * Log records -> InfluxDB points (pure; no I/O). The schema is in README.md beside this file.
 *
 * Idempotent by construction: a point's time is event time taken from the record (the KPI snapshot's
 * `ts`, a noise hour's start, a reading's `ts`, an alert's `updatedAt`), never the write time, and its
 * tags come from the record, so a redelivered or replayed record rewrites the same measurement + tag
 * set + timestamp, which InfluxDB overwrites instead of adding a point.
 *
 * Field types never change per measurement (numbers always float, flags boolean, text string):
 * InfluxDB refuses a point whose field type differs from the shard's existing one.
 *
 * Each kind's measurements and points come from its module (`influx`, core/kinds/<kind>/points.ts;
 * a profile kind's are derived from its profile, profile.ts); this file has the pipeline's own
 * (node health, alerts) and routes each topic's records to whoever writes them.
 */

/** The measurements of the pipeline itself, whatever the kinds. */
export const PIPELINE_MEASUREMENTS = {
  nodes: {
    tags: { scope: ['city', 'kind', 'district'], name: null },
    fields: { total: 'number', online: 'number', offline: 'number', ratio: 'number', neverSeen: 'number', batteryLow: 'number' },
  },
  alerts: {
    tags: {
      alertname: null,
      severity: ['critical', 'major', 'minor', 'info'],
      district: null,
      kind: null,
      state: ['firing', 'acknowledged', 'resolved'],
    },
    fields: {
      id: 'string',
      subject: 'string',
      summary: 'string',
      value: 'number',
      startsAt: 'number',
      firedAt: 'number',
      lat: 'number',
      lon: 'number',
    },
  },
} as const satisfies Measurements;

/**
 * Every measurement the sink writes with these kinds: the pipeline's and each kind's; throws when
 * two would share a name (a profile kind called `nodes` or `lighting`), since their points would mix.
 */
export function sinkSchema(kinds: KindCatalog): Map<string, MeasurementSchema> {
  const all = new Map<string, MeasurementSchema>(Object.entries(PIPELINE_MEASUREMENTS));
  for (const module of kinds.modules()) {
    for (const [name, schema] of Object.entries(module.influx.measurements as Measurements)) {
      if (all.has(name))
        throw new Error(`kind ${module.name}: InfluxDB measurement ${name} is already written by the sink; rename the kind`);
      all.set(name, schema);
    }
  }
  return all;
}

/** The topics the sink reads: every kind's `metrics.<kind>`, node health, alerts, and `telemetry.raw` (readings of the kinds that keep them). */
export function sinkTopics(kinds: KindCatalog): string[] {
  return [...kinds.names().map((kind) => TOPICS.metrics(kind)), TOPICS.nodeMetrics, TOPICS.alerts, TOPICS.raw];
}

// ---- the pipeline's records (ours, but parsed defensively: a record that does not fit is skipped and counted) ----

const nodeTally = z.object({ total: num, online: num, offline: num, ratio: num });
const nodesKpis = nodeTally.extend({
  neverSeen: num,
  batteryLow: num,
  byKind: map,
  byDistrict: map,
});

const alertRecord = z.object({
  id: str,
  alertname: str,
  severity: str,
  labels: z.record(z.string(), z.string()),
  summary: z.string().optional(),
  value: num,
  state: z.enum(['firing', 'acknowledged', 'resolved']),
  startsAt: epochMs.optional(),
  firedAt: epochMs.optional(),
  updatedAt: epochMs,
});

/** Cheap pre-filter on telemetry.raw, so the (many) readings of kinds that keep none cost one JSON parse. */
const rawHead = z.object({ type: z.string(), kind: z.string() });

// ---- conversion ----

export interface Converted {
  points: SinkPoint[];
  /** Records or rows that could not be read (and were skipped). */
  skipped: number;
}

/** FNV-1a, 32 bit: a stable small hash of an alert id. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function json(value: Buffer): unknown {
  try {
    return JSON.parse(value.toString('utf8'));
  } catch {
    return undefined;
  }
}

// ---- per topic ----

function nodes(b: PointBuilder<typeof PIPELINE_MEASUREMENTS>, value: unknown): boolean {
  const s = snapshot(nodesKpis).safeParse(value);
  if (!s.success) return false;
  const { ts, kpis: k } = s.data;
  const t = nsTime(ts);
  const tally = (c: z.output<typeof nodeTally>) => ({ total: c.total, online: c.online, offline: c.offline, ratio: c.ratio });
  b.add('nodes', { scope: 'city', name: 'city' }, { ...tally(k), neverSeen: k.neverSeen, batteryLow: k.batteryLow }, t);
  for (const [scope, group] of [
    ['kind', k.byKind],
    ['district', k.byDistrict],
  ] as const) {
    for (const [name, raw] of Object.entries(group ?? {})) {
      const c = b.row(nodeTally, raw);
      if (c) b.add('nodes', { scope, name }, tally(c), t);
    }
  }
  return true;
}

/**
 * One point per alert change, at `updatedAt`. The tags are low-cardinality (no alert id, node or
 * well), so two alerts with equal tags changing in the same millisecond (one evaluation tick) would
 * share a series and a timestamp and overwrite each other: the id's hash picks a fixed nanosecond
 * inside that millisecond (0..999,999), so each alert keeps its own point and a replay of the same
 * change still lands on the same one. (Two alerts collide only if, with equal tags and the same
 * `updatedAt`, their ids hash to the same nanosecond: about k^2 / 2,000,000 for k such alerts.)
 * `lat`/`lon` (from the registry: the node, else the circuit's or lot's centre) put it on a map.
 */
function alerts(b: PointBuilder<typeof PIPELINE_MEASUREMENTS>, value: unknown, registry: NodeRegistry | undefined): boolean {
  const s = alertRecord.safeParse(value);
  if (!s.success) return false;
  const a = s.data;
  const { kind, district, node, circuit, well, station, lot } = a.labels;
  const subject = node ?? circuit ?? well ?? station ?? lot ?? a.labels.roadClass ?? a.labels.reason;
  const at = registry && alertPlace(a.labels, registry);
  b.add(
    'alerts',
    {
      alertname: a.alertname,
      severity: a.severity as TagValueOf<(typeof PIPELINE_MEASUREMENTS)['alerts'], 'severity'>,
      district,
      kind,
      state: a.state,
    },
    { id: a.id, value: a.value, subject, summary: a.summary, startsAt: a.startsAt, firedAt: a.firedAt, lat: at?.lat, lon: at?.lon },
    nsTime(a.updatedAt, fnv1a(a.id) % 1_000_000),
  );
  return true;
}

type Convert = (b: PointBuilder, value: unknown, registry: NodeRegistry | undefined) => boolean;

/** A reading on `telemetry.raw`: written by its kind when the kind keeps readings; status records and other kinds' readings are not ours. */
function raw(kinds: KindCatalog): Convert {
  return (b, value, registry) => {
    const head = rawHead.safeParse(value);
    if (!head.success) return false;
    if (head.data.type !== 'reading') return true;
    const influx = kinds.get(head.data.kind)?.influx;
    return influx?.readingPoints ? influx.readingPoints(b, value, registry) : true;
  };
}

/** A keyed list entry on a `metrics.*` topic (processors/aggregation/metrics-publisher.ts), or its removal. */
const itemRecord = z.object({ ts: epochMs, list: str, item: z.unknown().optional(), removed: z.literal(true).optional() });

/**
 * A `metrics.<kind>` record as its kind's `kpiPoints` reads it, `{ ts, kpis }`: a summary record
 * as it is (the section without its keyed lists; a record of before the lists were keyed has
 * them too), a list entry as a section holding only that list with that one entry; null for a
 * removed entry (it gets no more points, as a node that left a list did in the whole section).
 */
export function kpiSection(value: unknown): unknown {
  if (value && typeof value === 'object' && 'kpis' in value) return value;
  const item = itemRecord.safeParse(value);
  if (!item.success) return value;
  if (item.data.removed || item.data.item === undefined) return null;
  return { ts: item.data.ts, kpis: { [item.data.list]: [item.data.item] } };
}

/** Who writes the records of `topic`: the pipeline (nodes, alerts, readings) or the kind whose `metrics.<kind>` it is. */
function converterOf(topic: string, kinds: KindCatalog): Convert | undefined {
  if (topic === TOPICS.nodeMetrics) return nodes;
  if (topic === TOPICS.alerts) return alerts;
  if (topic === TOPICS.raw) return raw(kinds);
  const prefix = TOPICS.metrics('');
  const module = topic.startsWith(prefix) ? kinds.get(topic.slice(prefix.length)) : undefined;
  return (
    module &&
    ((b, value, registry) => {
      const section = kpiSection(value);
      return section === null || module.influx.kpiPoints(b, section, registry);
    })
  );
}

/**
 * The points for a batch of records of one topic. Unreadable records (bad JSON, wrong shape) and
 * unreadable KPI rows are skipped and counted; readings of kinds that keep none on `telemetry.raw`
 * (streetlight, parking) and status records are ignored by design and not counted. `source`: the
 * registry (its kinds, and where nodes, lots and circuits are), or only the kinds.
 */
export function toPoints(topic: string, records: readonly Pick<StreamRecord, 'value'>[], source: NodeRegistry | KindCatalog): Converted {
  const registry = source instanceof NodeRegistry ? source : undefined;
  const kinds = registry?.kinds ?? (source as KindCatalog);
  const convert = converterOf(topic, kinds);
  const b = new PointBuilder();
  if (!convert) return { points: [], skipped: 0 };
  for (const record of records) {
    const value = json(record.value);
    if (value === undefined || !convert(b, value, registry)) b.skipped++;
  }
  return { points: b.points, skipped: b.skipped };
}
