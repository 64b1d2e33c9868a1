/**
 * A small typed InfluxQL builder for the dashboards (the Grafana SDK has no InfluxDB query builder).
 * Measurement, tag and field names are typed from the measurements a dashboard reads (a kind's
 * `influx.measurements`, the sink's `PIPELINE_MEASUREMENTS`, bound with `selector`): a misspelt name does not compile, and numeric aggregates (mean, max, ...) accept only
 * numeric fields (InfluxQL refuses mean() of a boolean at query time, an empty panel in Grafana).
 *
 *   select('lighting').agg('last', 'rate', 'rate').where('scope', 'district').matches('name', 'district')
 *     .groupByTime().groupBy('name')
 *   // SELECT last("rate") AS "rate" FROM "lighting" WHERE "scope" = 'district' AND "name" =~ /^$district$/
 *   //   AND $timeFilter GROUP BY time($__interval), "name" fill(none)
 *
 * The result is the query text Grafana's InfluxDB (InfluxQL) datasource runs in raw mode, with the
 * Grafana macros `$timeFilter` and `$__interval` and template variables left for Grafana to fill.
 *
 * Profile kinds' measurements exist only at run time (derived from the profile file): `selectFrom`
 * takes the measurement's schema as data, and every name is checked against it when the query is
 * built (an unknown tag or field, or mean() of a non-number, throws), the same rule the types give
 * the built-in measurements at compile time.
 */
import type { Measurements } from '../processors/sinks/influxdb/builder.js';
import type { MeasurementSchema } from '../processors/sinks/influxdb/shape.js';

/** Names of a measurement schema (literal for schemas declared `as const`, any string for run-time schemas). */
export type TagName<S extends MeasurementSchema> = keyof S['tags'] & string;
export type TagVal<S extends MeasurementSchema, T extends TagName<S>> = S['tags'][T] extends readonly (infer V)[] ? V : string;
export type FieldName<S extends MeasurementSchema> = keyof S['fields'] & string;
export type FieldNameOfType<S extends MeasurementSchema, K extends 'number' | 'boolean' | 'string'> = {
  [F in FieldName<S>]: K extends S['fields'][F] ? F : never;
}[FieldName<S>];

export type NumericAgg = 'mean' | 'min' | 'max' | 'sum' | 'median' | 'spread' | 'stddev';
export type AnyAgg = 'last' | 'first' | 'count' | 'distinct';
export interface Arithmetic {
  times?: number;
  plus?: number;
}

const ident = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
const literal = (s: string | number | boolean) =>
  typeof s === 'string' ? `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` : String(s);

export class InfluxQuery<S extends MeasurementSchema> {
  readonly measurement: string;
  readonly schema: S;
  readonly #policy: string | undefined;
  readonly #columns: string[] = [];
  readonly #where: string[] = [];
  readonly #groupBy: string[] = [];
  #fill: string | undefined;
  #order: string | undefined;
  #limit: number | undefined;
  #timeFilter = true;
  #aggregated = false;

  constructor(measurement: string, schema: S, policy?: string) {
    this.measurement = measurement;
    this.schema = schema;
    this.#policy = policy;
  }

  #tag(name: string): string {
    if (!Object.hasOwn(this.schema.tags, name))
      throw new Error(`InfluxQL: ${this.measurement} has no tag ${name} (${Object.keys(this.schema.tags).join(', ')})`);
    return name;
  }

  /** A value of a tag with a closed set (scope, period, band, state, severity) must be one of them. */
  #value(tag: string, value: unknown): void {
    const closed = this.schema.tags[this.#tag(tag)];
    if (closed && !closed.includes(String(value)))
      throw new Error(`InfluxQL: ${this.measurement} tag ${tag} is one of ${closed.join(', ')}, not ${String(value)}`);
  }

  #field(name: string, numeric = false): string {
    const type = Object.hasOwn(this.schema.fields, name) ? this.schema.fields[name] : undefined;
    if (!type) throw new Error(`InfluxQL: ${this.measurement} has no field ${name} (${Object.keys(this.schema.fields).join(', ')})`);
    if (numeric && type !== 'number') throw new Error(`InfluxQL: ${this.measurement}.${name} is ${type}, not a number`);
    return name;
  }

  /** A raw column: `"level"`, or `"level" AS "level"`. */
  field(name: FieldName<S>, as?: string): this {
    this.#field(name);
    this.#columns.push(as ? `${ident(name)} AS ${ident(as)}` : ident(name));
    return this;
  }

  /** A tag as a column (raw selects only; InfluxQL needs at least one field too). */
  tag(name: TagName<S>, as?: string): this {
    this.#tag(name);
    this.#columns.push(as ? `${ident(name)} AS ${ident(as)}` : ident(name));
    return this;
  }

  /** `fn(field)`, optionally with arithmetic (`times: 100` for percent, `plus: 15` for a margin) and named. */
  agg(fn: NumericAgg, name: FieldNameOfType<S, 'number'>, as?: string, math?: Arithmetic): this;
  agg(fn: AnyAgg, name: FieldName<S>, as?: string, math?: Arithmetic): this;
  agg(fn: NumericAgg | AnyAgg, name: string, as?: string, math: Arithmetic = {}): this {
    this.#field(name, !['last', 'first', 'count', 'distinct'].includes(fn));
    const expr = `${fn}(${ident(name)})${math.times !== undefined ? ` * ${math.times}` : ''}${math.plus !== undefined ? ` + ${math.plus}` : ''}`;
    this.#columns.push(as ? `${expr} AS ${ident(as)}` : expr);
    this.#aggregated = true;
    return this;
  }

  /** `tag = 'value'` (closed tag sets are checked: scope, period, band, state, severity). */
  where<T extends TagName<S>>(tag: T, value: TagVal<S, T>): this {
    this.#value(tag, value);
    this.#where.push(`${ident(tag)} = ${literal(String(value))}`);
    return this;
  }

  /** `tag != 'value'`. */
  whereNot<T extends TagName<S>>(tag: T, value: TagVal<S, T>): this {
    this.#value(tag, value);
    this.#where.push(`${ident(tag)} != ${literal(String(value))}`);
    return this;
  }

  /** `tag =~ /^(a|b)$/`: one of the given values. */
  whereIn<T extends TagName<S>>(tag: T, values: readonly TagVal<S, T>[]): this {
    for (const v of values) this.#value(tag, v);
    this.#where.push(`${ident(tag)} =~ /^(${values.map((v) => String(v).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})$/`);
    return this;
  }

  /** `tag =~ /^$variable$/`: filter by a Grafana template variable (multi-value and "All" give a regex). */
  matches(tag: TagName<S>, variable: string): this {
    this.#tag(tag);
    this.#where.push(`${ident(tag)} =~ /^$${variable}$/`);
    return this;
  }

  /** A condition on a field's value, e.g. `fieldIs('exceeds', '=', true)`. */
  fieldIs<F extends FieldName<S>>(name: F, op: '=' | '!=' | '<' | '<=' | '>' | '>=', value: string | number | boolean): this {
    this.#field(name);
    this.#where.push(`${ident(name)} ${op} ${literal(value)}`);
    return this;
  }

  /** Leave out `$timeFilter` (e.g. a "latest ever" table). Default: every query is time-filtered. */
  allTime(): this {
    this.#timeFilter = false;
    return this;
  }

  /** `GROUP BY time($__interval)` (or a fixed interval such as `1h`). */
  groupByTime(interval = '$__interval'): this {
    this.#groupBy.unshift(`time(${interval})`);
    return this;
  }

  groupBy(...tags: TagName<S>[]): this {
    for (const t of tags) this.#tag(t);
    this.#groupBy.push(...tags.map(ident));
    return this;
  }

  fill(value: 'none' | 'null' | 'previous' | 'linear' | number): this {
    this.#fill = String(value);
    return this;
  }

  orderByTimeDesc(): this {
    this.#order = 'ORDER BY time DESC';
    return this;
  }

  limit(n: number): this {
    this.#limit = n;
    return this;
  }

  toString(): string {
    if (this.#columns.length === 0) throw new Error(`InfluxQL query on ${this.measurement} selects nothing`);
    const from = this.#policy ? `${ident(this.#policy)}.${ident(this.measurement)}` : ident(this.measurement);
    const where = [...this.#where, ...(this.#timeFilter ? ['$timeFilter'] : [])];
    const parts = [`SELECT ${this.#columns.join(', ')} FROM ${from}`];
    if (where.length) parts.push(`WHERE ${where.join(' AND ')}`);
    if (this.#groupBy.length) parts.push(`GROUP BY ${this.#groupBy.join(', ')}`);
    // A time-grouped aggregate fills empty intervals with null unless told otherwise: gaps, not zeros.
    if (this.#fill ?? (this.#aggregated && this.#groupBy.some((g) => g.startsWith('time(')) ? 'none' : undefined))
      parts.push(`fill(${this.#fill ?? 'none'})`);
    if (this.#order) parts.push(this.#order);
    if (this.#limit !== undefined) parts.push(`LIMIT ${this.#limit}`);
    return parts.join(' ');
  }
}

/** Any built query (the builder is invariant in its measurement; panels only need the text). */
export interface AnyInfluxQuery {
  readonly measurement: string;
  toString(): string;
}

/**
 * `select` and `tagValues` over the measurements `schema` names, typed by it:
 * `const { select } = selector({ ...LIGHTING_MEASUREMENTS, ...PIPELINE_MEASUREMENTS })`.
 */
export function selector<S extends Measurements>(schema: S) {
  const of = (measurement: string) => {
    const m = Object.hasOwn(schema, measurement) ? schema[measurement] : undefined;
    if (!m) throw new Error(`InfluxQL: the sink writes no measurement ${measurement}`);
    return m;
  };
  return {
    /** Starts a query on one of the measurements (optionally in a retention policy, e.g. `rollup_1d`). */
    select: <M extends keyof S & string>(measurement: M, policy?: string): InfluxQuery<S[M]> =>
      new InfluxQuery(measurement, of(measurement) as S[M], policy),
    /** `SHOW TAG VALUES` for a template variable (typed like the queries). */
    tagValues: <M extends keyof S & string>(measurement: M, tag: TagName<S[M]>, where?: { tag: TagName<S[M]>; value: string }): string =>
      tagValuesFrom(measurement, of(measurement) as S[M], tag, where),
  };
}

/** Starts a query on a measurement known at run time by its schema (a profile kind's: processors/sinks/influxdb/profile.ts). */
export function selectFrom<S extends MeasurementSchema>(measurement: string, schema: S, policy?: string): InfluxQuery<S> {
  return new InfluxQuery(measurement, schema, policy);
}

/** `SHOW TAG VALUES` of a measurement known at run time by its schema; names checked like the queries'. */
export function tagValuesFrom<S extends MeasurementSchema>(
  measurement: string,
  schema: S,
  tag: TagName<S>,
  where?: { tag: TagName<S>; value: string },
): string {
  for (const t of [tag, where?.tag])
    if (t !== undefined && !Object.hasOwn(schema.tags, t)) throw new Error(`InfluxQL: ${measurement} has no tag ${t}`);
  const cond = where ? ` WHERE ${ident(where.tag)} = ${literal(where.value)}` : '';
  return `SHOW TAG VALUES FROM ${ident(measurement)} WITH KEY = ${ident(tag)}${cond}`;
}
