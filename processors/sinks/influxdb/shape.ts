/**
 * What a point is and how record values become one (pure). Shared by the built-in kinds' points
 * (points.ts) and the profile kinds' points (profile.ts).
 */

/** InfluxDB field types the sink writes: numbers always float, flags boolean, text string. */
export type FieldType = 'number' | 'boolean' | 'string';

/**
 * One measurement's tags (with the closed set of values where there is one, else null) and fields
 * with their type. Built-in measurements are listed at compile time (`SCHEMA` in points.ts);
 * profile kinds' measurements are derived from the profile at run time (profile.ts).
 */
export interface MeasurementSchema {
  readonly tags: Readonly<Record<string, readonly string[] | null>>;
  readonly fields: Readonly<Record<string, FieldType>>;
}

export interface SinkPoint {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, number | boolean | string>;
  /** Nanoseconds since the epoch, as decimal text (beyond Number's exact range). */
  time: string;
}

export type FieldValue = number | boolean | string | null | undefined;

const NS_PER_MS = 1_000_000n;
/** Event time (epoch ms) as the point's ns timestamp, plus a fixed sub-ms offset where needed. */
export const nsTime = (ms: number, subMsNs = 0) => (BigInt(Math.round(ms)) * NS_PER_MS + BigInt(subMsNs)).toString();

/** Drops null/undefined and non-finite numbers (InfluxDB has no null). */
export function fieldsOf(input: Record<string, FieldValue>): Record<string, number | boolean | string> {
  const out: Record<string, number | boolean | string> = {};
  for (const [k, v] of Object.entries(input)) {
    if (v === null || v === undefined) continue;
    if (typeof v === 'number' && !Number.isFinite(v)) continue;
    out[k] = v;
  }
  return out;
}

/** Drops absent and empty tags (line protocol has no empty tag values). */
export function tagsOf(input: Record<string, string | null | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(input)) if (v !== null && v !== undefined && v !== '') out[k] = v;
  return out;
}

/** A point, or nothing when no field has a value (a point needs at least one field). */
export function pointOf(
  measurement: string,
  tags: Record<string, string | null | undefined>,
  fields: Record<string, FieldValue>,
  time: string,
): SinkPoint | null {
  const f = fieldsOf(fields);
  return Object.keys(f).length === 0 ? null : { measurement, tags: tagsOf(tags), fields: f, time };
}

/** A value as the schema's field type wants it, or undefined (left out) when it is not of that type. */
export function asFieldType(type: FieldType, value: unknown): number | boolean | string | undefined {
  if (type === 'number') return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
  if (type === 'boolean') return typeof value === 'boolean' ? value : undefined;
  return typeof value === 'string' && value !== '' ? value : undefined;
}
