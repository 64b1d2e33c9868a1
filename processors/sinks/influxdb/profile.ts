/**
 * InfluxDB points of a profile kind (a sensor kind defined by a profile file), derived from the
 * profile at run time (pure; no I/O). Three measurements per kind (README "Profile kinds"):
 *
 *   <kind>          scope = city | district, name   nodes, reporting, one field per aggregate   metrics.<kind> snapshot ts
 *   <kind>_node     node, district                  rules, ruleCount, timeOver seconds, values  metrics.<kind> kpis.list
 *   <kind>_reading  node, district                  the profile's fields                        telemetry.raw reading ts
 *
 * Field types follow the profile and never change: numbers float, booleans boolean, enums string.
 */
import { z } from 'zod';
import type { KindProfile, ProfileField } from '../../../core/index.js';
import { asFieldType, nsTime, pointOf, type FieldType, type FieldValue, type MeasurementSchema, type SinkPoint } from './shape.js';

export interface ProfileMeasurementNames {
  kpis: string;
  node: string;
  reading: string;
}

export const profileMeasurementNames = (kind: string): ProfileMeasurementNames => ({
  kpis: kind,
  node: `${kind}_node`,
  reading: `${kind}_reading`,
});

const FIELD_TYPE: Record<ProfileField['type'], FieldType> = { number: 'number', boolean: 'boolean', enum: 'string' };

/** The fixed fields of a `<kind>_node` point: the alert rules that hold (`alert/severity`, comma-joined) and how many. */
export const NODE_RULE_FIELDS = { rules: 'string', ruleCount: 'number' } as const satisfies Record<string, FieldType>;

/**
 * Field names of `<kind>_node` in priority order: the rule fields, the `timeOver` aggregates (seconds),
 * then the profile's fields (the node's latest values). A name already taken by an earlier group is
 * left out (a profile field called like a timeOver aggregate), so types stay fixed per name.
 */
function nodeFields(profile: KindProfile): Record<string, FieldType> {
  const fields: Record<string, FieldType> = { ...NODE_RULE_FIELDS };
  for (const a of profile.aggregates) if (a.op === 'timeOver' && !(a.name in fields)) fields[a.name] = 'number';
  for (const [name, f] of Object.entries(profile.fields)) if (!(name in fields)) fields[name] = FIELD_TYPE[f.type];
  return fields;
}

const measurements = new WeakMap<KindProfile, Record<string, MeasurementSchema>>();

/** The three measurements of a profile kind with their tags and field types (derived once per profile). */
export function profileMeasurements(profile: KindProfile): Record<string, MeasurementSchema> {
  let m = measurements.get(profile);
  if (!m) measurements.set(profile, (m = deriveMeasurements(profile)));
  return m;
}

function deriveMeasurements(profile: KindProfile): Record<string, MeasurementSchema> {
  const names = profileMeasurementNames(profile.kind);
  const aggregates = Object.fromEntries(profile.aggregates.map((a) => [a.name, 'number' as const]));
  return {
    [names.kpis]: { tags: { scope: ['city', 'district'], name: null }, fields: { nodes: 'number', reporting: 'number', ...aggregates } },
    [names.node]: { tags: { node: null, district: null }, fields: nodeFields(profile) },
    [names.reading]: {
      tags: { node: null, district: null },
      fields: Object.fromEntries(Object.entries(profile.fields).map(([n, f]) => [n, FIELD_TYPE[f.type]])),
    },
  };
}

/** Numeric fields of `<kind>` downsampled on InfluxDB 1.x (rollups.ts). */
export const profileRollupFields = (profile: KindProfile): string[] => ['nodes', 'reporting', ...profile.aggregates.map((a) => a.name)];

// ---- records (ours, parsed defensively: what does not fit is skipped and counted) ----

const num = z.number().nullable().optional();
const epochMs = z.number().int().min(0);
const values = z.record(z.string(), z.unknown()).optional();
const kpiGroup = z.object({ nodes: num, reporting: num, aggregates: values });
const snapshot = z.object({ ts: epochMs, kpis: kpiGroup.extend({ byDistrict: values, list: z.array(z.unknown()).optional() }) });
const nodeRow = z.object({
  nodeId: z.string().min(1),
  district: z.string(),
  values,
  timeOver: values,
  rules: z.array(z.string()).optional(),
});
const readingRecord = z.object({
  type: z.literal('reading'),
  nodeId: z.string().min(1),
  district: z.string(),
  reading: z.looseObject({ ts: epochMs }),
});

export interface ProfilePoints {
  points: SinkPoint[];
  /** KPI rows that could not be read. */
  skipped: number;
}

/** Each field of `schema` taken from `source` when it has the field's type (others left out). */
function typed(schema: Readonly<Record<string, FieldType>>, source: Readonly<Record<string, unknown>>): Record<string, FieldValue> {
  const out: Record<string, FieldValue> = {};
  for (const [name, type] of Object.entries(schema)) out[name] = asFieldType(type, source[name]);
  return out;
}

/** A `metrics.<kind>` record `{ ts, kpis: ProfileKpis }` -> points; null when the record is unreadable. */
export function profileKpiPoints(profile: KindProfile, value: unknown): ProfilePoints | null {
  const s = snapshot.safeParse(value);
  if (!s.success) return null;
  const names = profileMeasurementNames(profile.kind);
  const schema = profileMeasurements(profile);
  const kpiFields = schema[names.kpis]!.fields;
  const nodeSchema = schema[names.node]!.fields;
  const { ts, kpis } = s.data;
  const t = nsTime(ts);
  const out: ProfilePoints = { points: [], skipped: 0 };
  const push = (p: SinkPoint | null) => p && out.points.push(p);
  const group = (g: z.output<typeof kpiGroup>) => typed(kpiFields, { ...g.aggregates, nodes: g.nodes, reporting: g.reporting });

  push(pointOf(names.kpis, { scope: 'city', name: 'city' }, group(kpis), t));
  for (const name of Object.keys(kpis.byDistrict ?? {}).sort()) {
    const d = kpiGroup.safeParse(kpis.byDistrict![name]);
    if (d.success) push(pointOf(names.kpis, { scope: 'district', name }, group(d.data), t));
    else out.skipped++;
  }
  // The nodes over a threshold now, at the snapshot's time: a node that recovers is simply not in the next one.
  for (const raw of kpis.list ?? []) {
    const r = nodeRow.safeParse(raw);
    if (!r.success) {
      out.skipped++;
      continue;
    }
    const rules = [...(r.data.rules ?? [])].sort();
    const source = { ...r.data.values, ...r.data.timeOver, rules: rules.join(','), ruleCount: rules.length };
    push(pointOf(names.node, { node: r.data.nodeId, district: r.data.district }, typed(nodeSchema, source), t));
  }
  return out;
}

/** A `telemetry.raw` reading of the profile's kind -> its `<kind>_reading` point (none without a known field); null when unreadable. */
export function profileReadingPoint(profile: KindProfile, value: unknown): { point: SinkPoint | null } | null {
  const r = readingRecord.safeParse(value);
  if (!r.success) return null;
  const names = profileMeasurementNames(profile.kind);
  const fields = profileMeasurements(profile)[names.reading]!.fields;
  return {
    point: pointOf(
      names.reading,
      { node: r.data.nodeId, district: r.data.district },
      typed(fields, r.data.reading),
      nsTime(r.data.reading.ts),
    ),
  };
}
