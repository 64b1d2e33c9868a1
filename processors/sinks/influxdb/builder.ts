/**
 * What a kind's InfluxDB points are written with: a builder typed by the kind's measurement schema
 * (a misspelt measurement, tag or field does not compile) and the zod parts the converters read
 * records with. Records are ours but parsed defensively: a record or KPI row that does not fit is
 * skipped and counted, never thrown.
 */
import { z } from 'zod';
import { pointOf, type MeasurementSchema, type SinkPoint } from './shape.js';

/** Measurements by name. */
export type Measurements = Readonly<Record<string, MeasurementSchema>>;

export type TagNames<S extends MeasurementSchema> = keyof S['tags'] & string;
/** A tag's closed set of values where it has one, else any string. */
export type TagValueOf<S extends MeasurementSchema, T extends TagNames<S>> = S['tags'][T] extends readonly (infer V)[] ? V : string;
export type FieldNames<S extends MeasurementSchema> = keyof S['fields'] & string;
export type FieldNamesOfType<S extends MeasurementSchema, K extends 'number' | 'boolean' | 'string'> = {
  [F in FieldNames<S>]: S['fields'][F] extends K ? F : never;
}[FieldNames<S>];

/** Value type of a field as the schema declares it. */
type FieldInput<T> = T extends 'number'
  ? number | null | undefined
  : T extends 'boolean'
    ? boolean | null | undefined
    : string | null | undefined;
type TagsInput<S extends MeasurementSchema> = { [T in TagNames<S>]?: TagValueOf<S, T> | null | undefined };
type FieldsInput<S extends MeasurementSchema> = { [F in FieldNames<S>]?: FieldInput<S['fields'][F]> };

/** Collects the points of one batch; typed by the measurements `M` its writer may use. */
export class PointBuilder<M extends Measurements = Measurements> {
  readonly points: SinkPoint[] = [];
  skipped = 0;
  add<K extends keyof M & string>(measurement: K, tags: TagsInput<M[K]>, fields: FieldsInput<M[K]>, time: string): void {
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

// ---- zod parts of the records ----

export const num = z.number().nullable().optional();
export const bool = z.boolean().nullable().optional();
export const str = z.string().min(1);
export const epochMs = z.number().int().min(0);
/** A `metrics.<kind>` record: the snapshot's time and its KPI section. */
export const snapshot = <T extends z.ZodType>(kpis: T) => z.object({ ts: epochMs, kpis });
/** A KPI map (district -> group, ...); absent in older or partial snapshots. */
export const map = z.record(z.string(), z.unknown()).optional();
/** A KPI section with a node list. */
export const listKpis = z.object({ list: z.array(z.unknown()).optional() });
/** A reading record on `telemetry.raw` of one kind, with the reading's fields as `reading`. */
export const readingRecord = <T extends z.ZodRawShape>(kind: string, reading: T) =>
  z.object({
    type: z.literal('reading'),
    nodeId: str,
    district: z.string(),
    kind: z.literal(kind),
    reading: z.object({ ts: epochMs, ...reading }),
  });
