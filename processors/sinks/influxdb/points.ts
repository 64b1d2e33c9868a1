import { z } from 'zod';
import { TOPICS, type NodeRegistry, type StreamRecord } from '../../../core/index.js';

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
 */
export interface SinkPoint {
  measurement: Measurement;
  tags: Record<string, string>;
  fields: Record<string, number | boolean | string>;
  /** Nanoseconds since the epoch, as decimal text (beyond Number's exact range). */
  time: string;
}

export const MEASUREMENTS = ['lighting', 'groundwater_well', 'groundwater_reading', 'noise_station', 'noise_reading', 'parking', 'nodes', 'alerts'] as const;
export type Measurement = (typeof MEASUREMENTS)[number];

/** The topics the sink reads. `telemetry.raw` only for the low-rate kinds (groundwater, noise). */
export const SINK_TOPICS = [TOPICS.metrics('streetlight'), TOPICS.metrics('groundwater'), TOPICS.metrics('noise'), TOPICS.metrics('parking'), TOPICS.nodeMetrics, TOPICS.alerts, TOPICS.raw] as const;

// ---- record schemas (ours, but parsed defensively: a record that does not fit is skipped and counted) ----

const num = z.number().nullable().optional();
const bool = z.boolean().nullable().optional();
const str = z.string().min(1);
const epochMs = z.number().int().min(0);

const snapshot = <T extends z.ZodType>(kpis: T) => z.object({ ts: epochMs, kpis });

const lightingGroup = z.object({ rate: num, lit: num, expected: num, target: num, compliant: bool });
const lightingKpis = z.object({
  lamps: num,
  scheduledOn: bool,
  rate: num,
  lit: num,
  expected: num,
  unknown: num,
  darkCircuits: num,
  onInDaytime: num,
  byRoadClass: z.record(z.string(), z.unknown()).optional(),
  byDistrict: z.record(z.string(), z.unknown()).optional(),
});

const wellRow = z.object({
  nodeId: str,
  well: str,
  springGroup: str,
  district: str,
  level: num,
  band: z.string().nullable().optional(),
  trend24hCmPerDay: num,
  trend7dCmPerDay: num,
  hoursToNextLine: num,
  nextLineM: num,
});
const listKpis = z.object({ list: z.array(z.unknown()).optional() });

const stationRow = z.object({
  nodeId: str,
  station: str,
  district: str,
  zoneClass: str,
  lastHour: z.object({ hourStart: epochMs, period: z.enum(['day', 'night']), leq: num, limit: num, coverage: num, complete: bool, exceeds: bool }),
});

const parkingCounts = z.object({ spaces: num, occupied: num, free: num, unknown: num, occupancy: num });
const parkingKpis = parkingCounts.extend({
  lots: num,
  full: num,
  nearlyFull: num,
  byDistrict: z.record(z.string(), z.unknown()).optional(),
  list: z.array(z.unknown()).optional(),
});
const lotRow = parkingCounts.extend({ lotId: str, lotName: z.string().optional(), district: str, state: z.string().nullable().optional() });

const nodeTally = z.object({ total: num, online: num, offline: num, ratio: num });
const nodesKpis = nodeTally.extend({
  neverSeen: num,
  batteryLow: num,
  byKind: z.record(z.string(), z.unknown()).optional(),
  byDistrict: z.record(z.string(), z.unknown()).optional(),
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

const readingBase = { type: z.literal('reading'), nodeId: str, district: z.string() };
const rawRecord = z.discriminatedUnion('kind', [
  z.object({ ...readingBase, kind: z.literal('groundwater'), reading: z.object({ ts: epochMs, waterTableM: z.number(), tempC: num }) }),
  z.object({
    ...readingBase,
    kind: z.literal('noise'),
    reading: z.object({ ts: epochMs, laeq: z.number(), lamax: num, lamin: num, l10: num, l50: num, l90: num }),
  }),
]);
/** Cheap pre-filter on telemetry.raw, so the (many) streetlight and parking readings cost one JSON parse. */
const rawHead = z.object({ type: z.string(), kind: z.string() });

// ---- conversion ----

export interface Converted {
  points: SinkPoint[];
  /** Records or rows that could not be read (and were skipped). */
  skipped: number;
}

const NS_PER_MS = 1_000_000n;
const nsTime = (ms: number, subMsNs = 0) => (BigInt(Math.round(ms)) * NS_PER_MS + BigInt(subMsNs)).toString();

/** FNV-1a, 32 bit: a stable small hash of an alert id. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

type FieldValue = number | boolean | string | null | undefined;
/** Drops null/undefined and non-finite numbers (InfluxDB has no null); a point needs at least one field. */
function fieldsOf(input: Record<string, FieldValue>): Record<string, number | boolean | string> {
  const out: Record<string, number | boolean | string> = {};
  for (const [k, v] of Object.entries(input)) {
    if (v === null || v === undefined) continue;
    if (typeof v === 'number' && !Number.isFinite(v)) continue;
    out[k] = v;
  }
  return out;
}

function tagsOf(input: Record<string, string | null | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(input)) if (v !== null && v !== undefined && v !== '') out[k] = v;
  return out;
}

class Builder {
  readonly points: SinkPoint[] = [];
  skipped = 0;
  add(measurement: Measurement, tags: Record<string, string | null | undefined>, fields: Record<string, FieldValue>, time: string): void {
    const f = fieldsOf(fields);
    if (Object.keys(f).length === 0) return;
    this.points.push({ measurement, tags: tagsOf(tags), fields: f, time });
  }
  /** Parses one row of a KPI list or map; a row that does not fit is skipped and counted. */
  row<T extends z.ZodType>(schema: T, value: unknown): z.output<T> | null {
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    this.skipped++;
    return null;
  }
}

function json(value: Buffer): unknown {
  try {
    return JSON.parse(value.toString('utf8'));
  } catch {
    return undefined;
  }
}

function lighting(b: Builder, value: unknown): boolean {
  const s = snapshot(lightingKpis).safeParse(value);
  if (!s.success) return false;
  const { ts, kpis: k } = s.data;
  const t = nsTime(ts);
  b.add('lighting', { scope: 'city', name: 'city' }, { rate: k.rate, lit: k.lit, expected: k.expected, unknown: k.unknown, lamps: k.lamps, darkCircuits: k.darkCircuits, onInDaytime: k.onInDaytime, scheduledOn: k.scheduledOn }, t);
  for (const [name, raw] of Object.entries(k.byDistrict ?? {})) {
    const g = b.row(lightingGroup, raw);
    if (g) b.add('lighting', { scope: 'district', name }, { rate: g.rate, lit: g.lit, expected: g.expected }, t);
  }
  for (const [name, raw] of Object.entries(k.byRoadClass ?? {})) {
    const g = b.row(lightingGroup, raw);
    if (g) b.add('lighting', { scope: 'roadClass', name }, { rate: g.rate, lit: g.lit, expected: g.expected, target: g.target, compliant: g.compliant }, t);
  }
  return true;
}

function groundwater(b: Builder, value: unknown): boolean {
  const s = snapshot(listKpis).safeParse(value);
  if (!s.success) return false;
  const t = nsTime(s.data.ts);
  for (const raw of s.data.kpis.list ?? []) {
    const w = b.row(wellRow, raw);
    // A well that has not reported yet has no level: nothing to write.
    if (!w || w.level === null || w.level === undefined) continue;
    b.add(
      'groundwater_well',
      { well: w.well, springGroup: w.springGroup, district: w.district, band: w.band },
      { level: w.level, trend24h: w.trend24hCmPerDay, trend7d: w.trend7dCmPerDay, hoursToNextLine: w.hoursToNextLine, nextLineM: w.nextLineM },
      t,
    );
  }
  return true;
}

function noise(b: Builder, value: unknown): boolean {
  const s = snapshot(listKpis).safeParse(value);
  if (!s.success) return false;
  for (const raw of s.data.kpis.list ?? []) {
    const row = b.row(stationRow, raw);
    if (!row) continue;
    const h = row.lastHour;
    // Keyed at the hour's start: every snapshot during the next hour rewrites the same point.
    b.add('noise_station', { station: row.station, district: row.district, zoneClass: row.zoneClass, period: h.period }, { leq: h.leq, limit: h.limit, coverage: h.coverage, complete: h.complete, exceeds: h.exceeds }, nsTime(h.hourStart));
  }
  return true;
}

function parking(b: Builder, value: unknown): boolean {
  const s = snapshot(parkingKpis).safeParse(value);
  if (!s.success) return false;
  const { ts, kpis: k } = s.data;
  const t = nsTime(ts);
  const counts = (c: z.output<typeof parkingCounts>) => ({ occupancy: c.occupancy, occupied: c.occupied, free: c.free, unknown: c.unknown, spaces: c.spaces });
  b.add('parking', { scope: 'city', name: 'city' }, { ...counts(k), lots: k.lots, full: k.full, nearlyFull: k.nearlyFull }, t);
  for (const [name, raw] of Object.entries(k.byDistrict ?? {})) {
    const d = b.row(parkingCounts, raw);
    if (d) b.add('parking', { scope: 'district', name }, counts(d), t);
  }
  for (const raw of k.list ?? []) {
    const lot = b.row(lotRow, raw);
    if (lot) b.add('parking', { scope: 'lot', name: lot.lotId }, { ...counts(lot), state: lot.state }, t);
  }
  return true;
}

function nodes(b: Builder, value: unknown): boolean {
  const s = snapshot(nodesKpis).safeParse(value);
  if (!s.success) return false;
  const { ts, kpis: k } = s.data;
  const t = nsTime(ts);
  const tally = (c: z.output<typeof nodeTally>) => ({ total: c.total, online: c.online, offline: c.offline, ratio: c.ratio });
  b.add('nodes', { scope: 'city', name: 'city' }, { ...tally(k), neverSeen: k.neverSeen, batteryLow: k.batteryLow }, t);
  for (const [scope, map] of [['kind', k.byKind], ['district', k.byDistrict]] as const) {
    for (const [name, raw] of Object.entries(map ?? {})) {
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
 */
function alerts(b: Builder, value: unknown): boolean {
  const s = alertRecord.safeParse(value);
  if (!s.success) return false;
  const a = s.data;
  const { kind, district, node, circuit, well, station, lot } = a.labels;
  const subject = node ?? circuit ?? well ?? station ?? lot ?? a.labels.roadClass ?? a.labels.reason;
  b.add(
    'alerts',
    { alertname: a.alertname, severity: a.severity, district, kind, state: a.state },
    { id: a.id, value: a.value, subject, summary: a.summary, startsAt: a.startsAt, firedAt: a.firedAt },
    nsTime(a.updatedAt, fnv1a(a.id) % 1_000_000),
  );
  return true;
}

function raw(b: Builder, value: unknown, registry: NodeRegistry | undefined): boolean {
  const head = rawHead.safeParse(value);
  if (!head.success) return false;
  if (head.data.type !== 'reading' || (head.data.kind !== 'groundwater' && head.data.kind !== 'noise')) return true; // not ours to write
  const s = rawRecord.safeParse(value);
  if (!s.success) return false;
  const r = s.data;
  const node = registry?.get(r.nodeId);
  const t = nsTime(r.reading.ts);
  if (r.kind === 'groundwater') {
    const well = node && 'well' in node ? String(node.well) : undefined;
    b.add('groundwater_reading', { node: r.nodeId, well }, { waterTableM: r.reading.waterTableM, tempC: r.reading.tempC }, t);
  } else {
    const station = node && 'station' in node ? String(node.station) : undefined;
    const x = r.reading;
    b.add('noise_reading', { node: r.nodeId, station }, { laeq: x.laeq, lamax: x.lamax, lamin: x.lamin, l10: x.l10, l50: x.l50, l90: x.l90 }, t);
  }
  return true;
}

const BY_TOPIC: Record<string, (b: Builder, value: unknown, registry: NodeRegistry | undefined) => boolean> = {
  [TOPICS.metrics('streetlight')]: lighting,
  [TOPICS.metrics('groundwater')]: groundwater,
  [TOPICS.metrics('noise')]: noise,
  [TOPICS.metrics('parking')]: parking,
  [TOPICS.nodeMetrics]: nodes,
  [TOPICS.alerts]: alerts,
  [TOPICS.raw]: raw,
};

/**
 * The points for a batch of records of one topic. Unreadable records (bad JSON, wrong shape) and
 * unreadable KPI rows are skipped and counted; records of other kinds on `telemetry.raw`
 * (streetlight, parking, status) are ignored by design and not counted.
 */
export function toPoints(topic: string, records: readonly Pick<StreamRecord, 'value'>[], registry?: NodeRegistry): Converted {
  const convert = BY_TOPIC[topic];
  const b = new Builder();
  if (!convert) return { points: [], skipped: 0 };
  for (const record of records) {
    const value = json(record.value);
    if (value === undefined || !convert(b, value, registry)) b.skipped++;
  }
  return { points: b.points, skipped: b.skipped };
}
