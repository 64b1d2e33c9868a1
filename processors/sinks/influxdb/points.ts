import { z } from 'zod';
import {
  alertPlace,
  KindCatalog,
  KIND_NAMES,
  lotPlace,
  noisePeriod,
  TOPICS,
  ZONE_LIMITS,
  type Kind,
  type NodeRegistry,
  type StreamRecord,
} from '../../../core/index.js';
import { profileKpiPoints, profileMeasurements, profileReadingPoint } from './profile.js';
import { nsTime, pointOf, type MeasurementSchema, type SinkPoint } from './shape.js';

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
 * Profile kinds (a kind defined by a profile file) have their measurements derived from the profile
 * at run time (profile.ts); the registry's kind catalog says which kinds exist.
 */

/**
 * The schema the sink writes, as data and as types: every measurement, its tags (with the closed set
 * of values where there is one) and its fields with their InfluxDB type. `toPoints` can only write
 * names listed here, and the dashboards' InfluxQL builder (dashboards/influxql.ts) only accepts names
 * listed here, so a misspelt measurement, tag or field does not compile on either side.
 */
export const SCHEMA = {
  lighting: {
    tags: { scope: ['city', 'district', 'roadClass'], name: null },
    fields: {
      rate: 'number',
      lit: 'number',
      expected: 'number',
      unknown: 'number',
      lamps: 'number',
      darkCircuits: 'number',
      onInDaytime: 'number',
      scheduledOn: 'boolean',
      target: 'number',
      compliant: 'boolean',
      halfNight: 'boolean',
      designed: 'number',
      installed: 'number',
      installationRate: 'number',
      facilities: 'number',
      intact: 'number',
      intactRate: 'number',
      roads: 'number',
      roadsCompliant: 'number',
      roadsNonCompliant: 'number',
    },
  },
  groundwater_well: {
    tags: { well: null, springGroup: null, district: null, band: ['normal', 'yellow', 'orange', 'red'] },
    fields: {
      level: 'number',
      trend24h: 'number',
      trend7d: 'number',
      hoursToNextLine: 'number',
      nextLineM: 'number',
      yellow: 'number',
      orange: 'number',
      red: 'number',
    },
  },
  groundwater_reading: { tags: { node: null, well: null }, fields: { waterTableM: 'number', tempC: 'number' } },
  noise_station: {
    tags: { station: null, district: null, zoneClass: null, period: ['day', 'night'] },
    fields: { leq: 'number', limit: 'number', coverage: 'number', complete: 'boolean', exceeds: 'boolean' },
  },
  noise_day: {
    tags: { station: null, district: null, zoneClass: null },
    fields: {
      ld: 'number',
      ldValidRate: 'number',
      ldComplete: 'boolean',
      ldExceeds: 'boolean',
      ldLimit: 'number',
      ln: 'number',
      lnValidRate: 'number',
      lnComplete: 'boolean',
      lnExceeds: 'boolean',
      lnLimit: 'number',
    },
  },
  noise_reading: {
    tags: { node: null, station: null, period: ['day', 'night'] },
    fields: { laeq: 'number', lamax: 'number', lamin: 'number', l10: 'number', l50: 'number', l90: 'number' },
  },
  parking: {
    tags: { scope: ['city', 'district', 'lot'], name: null, district: null },
    fields: {
      occupancy: 'number',
      occupied: 'number',
      free: 'number',
      unknown: 'number',
      spaces: 'number',
      lots: 'number',
      full: 'number',
      nearlyFull: 'number',
      state: 'string',
      lotName: 'string',
      lat: 'number',
      lon: 'number',
      sessions: 'number',
      turnover: 'number',
      meanDwellMin: 'number',
    },
  },
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
} as const satisfies Record<string, MeasurementSchema>;

export type Schema = typeof SCHEMA;
export type Measurement = keyof Schema;
export const MEASUREMENTS = Object.keys(SCHEMA) as Measurement[];
export type TagOf<M extends Measurement> = keyof Schema[M]['tags'] & string;
/** A tag's closed set of values where it has one, else any string. */
export type TagValue<M extends Measurement, T extends TagOf<M>> = Schema[M]['tags'][T] extends readonly (infer V)[] ? V : string;
export type FieldOf<M extends Measurement> = keyof Schema[M]['fields'] & string;
export type FieldOfType<M extends Measurement, K extends 'number' | 'boolean' | 'string'> = {
  [F in FieldOf<M>]: Schema[M]['fields'][F] extends K ? F : never;
}[FieldOf<M>];

/**
 * Every measurement the sink writes for these kinds: the built-in ones (`SCHEMA`) and each profile
 * kind's three; throws when a profile kind's measurement would take a built-in one's name (a kind
 * called `lighting`, `nodes` or `alerts`), since their points would mix in one measurement.
 */
export function sinkSchema(kinds: KindCatalog = KindCatalog.default()): Map<string, MeasurementSchema> {
  const all = new Map<string, MeasurementSchema>(Object.entries(SCHEMA));
  for (const profile of kinds.profiles()) {
    for (const [name, schema] of Object.entries(profileMeasurements(profile))) {
      if (all.has(name))
        throw new Error(`profile kind ${profile.kind}: InfluxDB measurement ${name} is already written by the sink; rename the kind`);
      all.set(name, schema);
    }
  }
  return all;
}

/** The topics the sink reads: every kind's `metrics.<kind>`, node health, alerts, and `telemetry.raw` (readings of the low-rate kinds and profile kinds). */
export function sinkTopics(kinds: KindCatalog = KindCatalog.default()): string[] {
  return [...kinds.names().map((kind) => TOPICS.metrics(kind)), TOPICS.nodeMetrics, TOPICS.alerts, TOPICS.raw];
}

// ---- record schemas (ours, but parsed defensively: a record that does not fit is skipped and counted) ----

const num = z.number().nullable().optional();
const bool = z.boolean().nullable().optional();
const str = z.string().min(1);
const epochMs = z.number().int().min(0);

const snapshot = <T extends z.ZodType>(kpis: T) => z.object({ ts: epochMs, kpis });
/** A KPI map (district -> group, ...); absent in older or partial snapshots. */
const map = z.record(z.string(), z.unknown()).optional();

const lightingGroup = z.object({ rate: num, lit: num, expected: num, target: num, compliant: bool });
/** `installation`, `installationByDistrict[d]`, `installationByRoadClass[c]`. */
const installationGroup = z.object({ designed: num, installed: num, rate: num });
/** `intact`, `intactByDistrict[d]`. */
const intactGroup = z.object({ facilities: num, intact: num, rate: num });
const lightingKpis = z.object({
  lamps: num,
  scheduledOn: bool,
  rate: num,
  lit: num,
  expected: num,
  unknown: num,
  darkCircuits: num,
  onInDaytime: num,
  byRoadClass: map,
  byDistrict: map,
  // Written when present (newer processors); each is read on its own, so one odd shape skips only itself.
  installation: z.unknown().optional(),
  installationByDistrict: map,
  installationByRoadClass: map,
  intact: z.unknown().optional(),
  intactByDistrict: map,
  halfNight: z.unknown().optional(),
  roads: z.unknown().optional(),
});
const roadsSummary = z.object({ total: num, compliant: num, nonCompliant: z.array(z.unknown()).nullable().optional() });

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
  lines: z.object({ yellow: num, orange: num, red: num }).nullable().optional(),
});
const listKpis = z.object({ list: z.array(z.unknown()).optional() });

const noiseDay = z.object({
  date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  ld: num,
  ldValidRate: num,
  ldComplete: bool,
  ldExceeds: bool,
  ln: num,
  lnValidRate: num,
  lnComplete: bool,
  lnExceeds: bool,
});
const stationRow = z.object({
  nodeId: str,
  station: str,
  district: str,
  zoneClass: str,
  lastHour: z.object({
    hourStart: epochMs,
    period: z.enum(['day', 'night']),
    leq: num,
    limit: num,
    coverage: num,
    complete: bool,
    exceeds: bool,
  }),
  today: z.unknown().optional(),
  yesterday: z.unknown().optional(),
});

const parkingCounts = z.object({
  spaces: num,
  occupied: num,
  free: num,
  unknown: num,
  occupancy: num,
  sessions: num,
  turnover: num,
  meanDwellMin: num,
});
const parkingKpis = parkingCounts.extend({
  lots: num,
  full: num,
  nearlyFull: num,
  byDistrict: map,
  list: z.array(z.unknown()).optional(),
});
const lotRow = parkingCounts.extend({ lotId: str, lotName: z.string().optional(), district: str, state: z.string().nullable().optional() });

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

/** FNV-1a, 32 bit: a stable small hash of an alert id. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Value type of a field as the schema declares it. */
type FieldInput<M extends Measurement, F extends FieldOf<M>> = Schema[M]['fields'][F] extends 'number'
  ? number | null | undefined
  : Schema[M]['fields'][F] extends 'boolean'
    ? boolean | null | undefined
    : string | null | undefined;
type TagsInput<M extends Measurement> = { [T in TagOf<M>]?: TagValue<M, T> | null | undefined };
type FieldsInput<M extends Measurement> = { [F in FieldOf<M>]?: FieldInput<M, F> };

class Builder {
  readonly points: SinkPoint[] = [];
  skipped = 0;
  add<M extends Measurement>(measurement: M, tags: TagsInput<M>, fields: FieldsInput<M>, time: string): void {
    this.push(pointOf(measurement, tags as Record<string, string | null | undefined>, fields, time));
  }
  /** A point built elsewhere (a profile kind's, checked against its profile); null adds nothing. */
  push(point: SinkPoint | null): void {
    if (point) this.points.push(point);
  }
  /** Parses one row of a KPI list or map; a row that does not fit is skipped and counted. */
  row<T extends z.ZodType>(schema: T, value: unknown): z.output<T> | null {
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    this.skipped++;
    return null;
  }
  /** Like `row` for an optional KPI: absent (undefined/null) is fine and not counted. */
  optional<T extends z.ZodType>(schema: T, value: unknown): z.output<T> | null {
    return value === undefined || value === null ? null : this.row(schema, value);
  }
}

function json(value: Buffer): unknown {
  try {
    return JSON.parse(value.toString('utf8'));
  } catch {
    return undefined;
  }
}

// ---- per topic ----

/** `halfNight` as a flag: a boolean, or an object saying whether the mode is active now. */
function halfNightFlag(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    for (const k of ['active', 'on', 'now']) if (typeof o[k] === 'boolean') return o[k];
  }
  return undefined;
}

function lighting(b: Builder, value: unknown): boolean {
  const s = snapshot(lightingKpis).safeParse(value);
  if (!s.success) return false;
  const { ts, kpis: k } = s.data;
  const t = nsTime(ts);
  const inst = b.optional(installationGroup, k.installation);
  const intact = b.optional(intactGroup, k.intact);
  const roads = b.optional(roadsSummary, k.roads);
  b.add(
    'lighting',
    { scope: 'city', name: 'city' },
    {
      rate: k.rate,
      lit: k.lit,
      expected: k.expected,
      unknown: k.unknown,
      lamps: k.lamps,
      darkCircuits: k.darkCircuits,
      onInDaytime: k.onInDaytime,
      scheduledOn: k.scheduledOn,
      halfNight: halfNightFlag(k.halfNight),
      designed: inst?.designed,
      installed: inst?.installed,
      installationRate: inst?.rate,
      facilities: intact?.facilities,
      intact: intact?.intact,
      intactRate: intact?.rate,
      roads: roads?.total,
      roadsCompliant: roads?.compliant,
      roadsNonCompliant: roads?.nonCompliant?.length,
    },
    t,
  );
  // One point per district / road class with every KPI known for it (rate, installation, intact).
  const districts = new Set([
    ...Object.keys(k.byDistrict ?? {}),
    ...Object.keys(k.installationByDistrict ?? {}),
    ...Object.keys(k.intactByDistrict ?? {}),
  ]);
  for (const name of [...districts].sort()) {
    const g = b.optional(lightingGroup, k.byDistrict?.[name]);
    const i = b.optional(installationGroup, k.installationByDistrict?.[name]);
    const f = b.optional(intactGroup, k.intactByDistrict?.[name]);
    b.add(
      'lighting',
      { scope: 'district', name },
      {
        rate: g?.rate,
        lit: g?.lit,
        expected: g?.expected,
        designed: i?.designed,
        installed: i?.installed,
        installationRate: i?.rate,
        facilities: f?.facilities,
        intact: f?.intact,
        intactRate: f?.rate,
      },
      t,
    );
  }
  const classes = new Set([...Object.keys(k.byRoadClass ?? {}), ...Object.keys(k.installationByRoadClass ?? {})]);
  for (const name of [...classes].sort()) {
    const g = b.optional(lightingGroup, k.byRoadClass?.[name]);
    const i = b.optional(installationGroup, k.installationByRoadClass?.[name]);
    b.add(
      'lighting',
      { scope: 'roadClass', name },
      {
        rate: g?.rate,
        lit: g?.lit,
        expected: g?.expected,
        target: g?.target,
        compliant: g?.compliant,
        designed: i?.designed,
        installed: i?.installed,
        installationRate: i?.rate,
      },
      t,
    );
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
      {
        well: w.well,
        springGroup: w.springGroup,
        district: w.district,
        band: w.band as TagValue<'groundwater_well', 'band'> | null | undefined,
      },
      {
        level: w.level,
        trend24h: w.trend24hCmPerDay,
        trend7d: w.trend7dCmPerDay,
        hoursToNextLine: w.hoursToNextLine,
        nextLineM: w.nextLineM,
        yellow: w.lines?.yellow,
        orange: w.lines?.orange,
        red: w.lines?.red,
      },
      t,
    );
  }
  return true;
}

/** Midnight (Asia/Shanghai) starting a local date `YYYY-MM-DD`. */
const localMidnight = (date: string) => Date.parse(`${date}T00:00:00+08:00`);

function noise(b: Builder, value: unknown): boolean {
  const s = snapshot(listKpis).safeParse(value);
  if (!s.success) return false;
  for (const raw of s.data.kpis.list ?? []) {
    const row = b.row(stationRow, raw);
    if (!row) continue;
    const h = row.lastHour;
    const tags = { station: row.station, district: row.district, zoneClass: row.zoneClass };
    // Keyed at the hour's start: every snapshot during the next hour rewrites the same point.
    b.add(
      'noise_station',
      { ...tags, period: h.period },
      { leq: h.leq, limit: h.limit, coverage: h.coverage, complete: h.complete, exceeds: h.exceeds },
      nsTime(h.hourStart),
    );
    // Ld / Ln per local day, keyed at the day's midnight: today's point is rewritten until the day is done.
    const limits = (ZONE_LIMITS as Record<string, { day: number; night: number } | undefined>)[row.zoneClass];
    for (const day of [row.yesterday, row.today]) {
      const d = b.optional(noiseDay, day);
      if (!d) continue;
      b.add(
        'noise_day',
        tags,
        {
          ld: d.ld,
          ldValidRate: d.ldValidRate,
          ldComplete: d.ldComplete,
          ldExceeds: d.ldExceeds,
          ldLimit: limits?.day,
          ln: d.ln,
          lnValidRate: d.lnValidRate,
          lnComplete: d.lnComplete,
          lnExceeds: d.lnExceeds,
          lnLimit: limits?.night,
        },
        nsTime(localMidnight(d.date)),
      );
    }
  }
  return true;
}

function parking(b: Builder, value: unknown, registry: NodeRegistry | undefined): boolean {
  const s = snapshot(parkingKpis).safeParse(value);
  if (!s.success) return false;
  const { ts, kpis: k } = s.data;
  const t = nsTime(ts);
  const counts = (c: z.output<typeof parkingCounts>) => ({
    occupancy: c.occupancy,
    occupied: c.occupied,
    free: c.free,
    unknown: c.unknown,
    spaces: c.spaces,
    sessions: c.sessions,
    turnover: c.turnover,
    meanDwellMin: c.meanDwellMin,
  });
  b.add('parking', { scope: 'city', name: 'city' }, { ...counts(k), lots: k.lots, full: k.full, nearlyFull: k.nearlyFull }, t);
  for (const [name, raw] of Object.entries(k.byDistrict ?? {})) {
    const d = b.row(parkingCounts, raw);
    if (d) b.add('parking', { scope: 'district', name }, counts(d), t);
  }
  for (const raw of k.list ?? []) {
    const lot = b.row(lotRow, raw);
    if (!lot) continue;
    const at = registry && lotPlace(registry, lot.lotId);
    b.add(
      'parking',
      { scope: 'lot', name: lot.lotId, district: lot.district },
      { ...counts(lot), state: lot.state, lotName: lot.lotName, lat: at?.lat, lon: at?.lon },
      t,
    );
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
function alerts(b: Builder, value: unknown, registry: NodeRegistry | undefined): boolean {
  const s = alertRecord.safeParse(value);
  if (!s.success) return false;
  const a = s.data;
  const { kind, district, node, circuit, well, station, lot } = a.labels;
  const subject = node ?? circuit ?? well ?? station ?? lot ?? a.labels.roadClass ?? a.labels.reason;
  const at = registry && alertPlace(a.labels, registry);
  b.add(
    'alerts',
    { alertname: a.alertname, severity: a.severity as TagValue<'alerts', 'severity'>, district, kind, state: a.state },
    { id: a.id, value: a.value, subject, summary: a.summary, startsAt: a.startsAt, firedAt: a.firedAt, lat: at?.lat, lon: at?.lon },
    nsTime(a.updatedAt, fnv1a(a.id) % 1_000_000),
  );
  return true;
}

function raw(b: Builder, value: unknown, registry: NodeRegistry | undefined, kinds: KindCatalog): boolean {
  const head = rawHead.safeParse(value);
  if (!head.success) return false;
  if (head.data.type !== 'reading') return true; // status records: not ours to write
  const profile = kinds.get(head.data.kind)?.profile;
  if (profile) {
    const p = profileReadingPoint(profile, value);
    b.push(p?.point ?? null);
    return p !== null;
  }
  if (head.data.kind !== 'groundwater' && head.data.kind !== 'noise') return true; // high-rate built-in kinds: not ours to write
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
    // The GB 3096 period of the minute, so night peaks can be selected without local-time maths in InfluxQL.
    b.add(
      'noise_reading',
      { node: r.nodeId, station, period: noisePeriod(x.ts) },
      { laeq: x.laeq, lamax: x.lamax, lamin: x.lamin, l10: x.l10, l50: x.l50, l90: x.l90 },
      t,
    );
  }
  return true;
}

type Convert = (b: Builder, value: unknown, registry: NodeRegistry | undefined, kinds: KindCatalog) => boolean;
/** The points of each kind's KPI snapshots: keyed by kind, so a kind without its points does not compile. */
const BY_KIND: { [K in Kind]: Convert } = { streetlight: lighting, groundwater, noise, parking };
const BY_TOPIC: Record<string, Convert> = {
  ...Object.fromEntries(KIND_NAMES.map((kind) => [TOPICS.metrics(kind), BY_KIND[kind]])),
  [TOPICS.nodeMetrics]: nodes,
  [TOPICS.alerts]: alerts,
  [TOPICS.raw]: raw,
};

/** `metrics.<kind>` of a profile kind in `kinds`: its KPI converter. */
function profileTopic(topic: string, kinds: KindCatalog): Convert | undefined {
  const profile = kinds.profiles().find((p) => TOPICS.metrics(p.kind) === topic);
  if (!profile) return undefined;
  return (b, value) => {
    const converted = profileKpiPoints(profile, value);
    if (!converted) return false;
    for (const p of converted.points) b.push(p);
    b.skipped += converted.skipped;
    return true;
  };
}

/**
 * The points for a batch of records of one topic. Unreadable records (bad JSON, wrong shape) and
 * unreadable KPI rows are skipped and counted; records of other kinds on `telemetry.raw`
 * (streetlight, parking, status) are ignored by design and not counted. Profile kinds come from the
 * registry's kind catalog (without a registry: the built-in kinds and the shipped profiles).
 */
export function toPoints(topic: string, records: readonly Pick<StreamRecord, 'value'>[], registry?: NodeRegistry): Converted {
  const kinds = registry?.kinds ?? KindCatalog.default();
  const convert = BY_TOPIC[topic] ?? profileTopic(topic, kinds);
  const b = new Builder();
  if (!convert) return { points: [], skipped: 0 };
  for (const record of records) {
    const value = json(record.value);
    if (value === undefined || !convert(b, value, registry, kinds)) b.skipped++;
  }
  return { points: b.points, skipped: b.skipped };
}
