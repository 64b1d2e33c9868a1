/**
 * A small typed InfluxQL builder for the dashboards (the Grafana SDK has no InfluxDB query builder).
 * Measurement, tag and field names are typed from the sink's schema (processors/sinks/influxdb/points.ts
 * `SCHEMA`): a misspelt name does not compile, and numeric aggregates (mean, max, ...) accept only
 * numeric fields (InfluxQL refuses mean() of a boolean at query time, an empty panel in Grafana).
 *
 *   select('lighting').agg('last', 'rate', 'rate').where('scope', 'district').matches('name', 'district')
 *     .groupByTime().groupBy('name')
 *   // SELECT last("rate") AS "rate" FROM "lighting" WHERE "scope" = 'district' AND "name" =~ /^$district$/
 *   //   AND $timeFilter GROUP BY time($__interval), "name" fill(none)
 *
 * The result is the query text Grafana's InfluxDB (InfluxQL) datasource runs in raw mode, with the
 * Grafana macros `$timeFilter` and `$__interval` and template variables left for Grafana to fill.
 */
import type { FieldOf, FieldOfType, Measurement, TagOf, TagValue } from '../processors/sinks/influxdb/points.js';

export type NumericAgg = 'mean' | 'min' | 'max' | 'sum' | 'median' | 'spread' | 'stddev';
export type AnyAgg = 'last' | 'first' | 'count' | 'distinct';
export interface Arithmetic {
  times?: number;
  plus?: number;
}

const ident = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
const literal = (s: string | number | boolean) => (typeof s === 'string' ? `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` : String(s));

export class InfluxQuery<M extends Measurement> {
  readonly measurement: M;
  readonly #policy: string | undefined;
  readonly #columns: string[] = [];
  readonly #where: string[] = [];
  readonly #groupBy: string[] = [];
  #fill: string | undefined;
  #order: string | undefined;
  #limit: number | undefined;
  #timeFilter = true;
  #aggregated = false;

  constructor(measurement: M, policy?: string) {
    this.measurement = measurement;
    this.#policy = policy;
  }

  /** A raw column: `"level"`, or `"level" AS "level"`. */
  field(name: FieldOf<M>, as?: string): this {
    this.#columns.push(as ? `${ident(name)} AS ${ident(as)}` : ident(name));
    return this;
  }

  /** A tag as a column (raw selects only; InfluxQL needs at least one field too). */
  tag(name: TagOf<M>, as?: string): this {
    this.#columns.push(as ? `${ident(name)} AS ${ident(as)}` : ident(name));
    return this;
  }

  /** `fn(field)`, optionally with arithmetic (`times: 100` for percent, `plus: 15` for a margin) and named. */
  agg(fn: NumericAgg, name: FieldOfType<M, 'number'>, as?: string, math?: Arithmetic): this;
  agg(fn: AnyAgg, name: FieldOf<M>, as?: string, math?: Arithmetic): this;
  agg(fn: NumericAgg | AnyAgg, name: string, as?: string, math: Arithmetic = {}): this {
    const expr = `${fn}(${ident(name)})${math.times !== undefined ? ` * ${math.times}` : ''}${math.plus !== undefined ? ` + ${math.plus}` : ''}`;
    this.#columns.push(as ? `${expr} AS ${ident(as)}` : expr);
    this.#aggregated = true;
    return this;
  }

  /** `tag = 'value'` (closed tag sets are checked: scope, period, band, state, severity). */
  where<T extends TagOf<M>>(tag: T, value: TagValue<M, T>): this {
    this.#where.push(`${ident(tag)} = ${literal(String(value))}`);
    return this;
  }

  /** `tag != 'value'`. */
  whereNot<T extends TagOf<M>>(tag: T, value: TagValue<M, T>): this {
    this.#where.push(`${ident(tag)} != ${literal(String(value))}`);
    return this;
  }

  /** `tag =~ /^(a|b)$/`: one of the given values. */
  whereIn<T extends TagOf<M>>(tag: T, values: readonly TagValue<M, T>[]): this {
    this.#where.push(`${ident(tag)} =~ /^(${values.map((v) => String(v).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})$/`);
    return this;
  }

  /** `tag =~ /^$variable$/`: filter by a Grafana template variable (multi-value and "All" give a regex). */
  matches(tag: TagOf<M>, variable: string): this {
    this.#where.push(`${ident(tag)} =~ /^$${variable}$/`);
    return this;
  }

  /** A condition on a field's value, e.g. `fieldIs('exceeds', '=', true)`. */
  fieldIs<F extends FieldOf<M>>(name: F, op: '=' | '!=' | '<' | '<=' | '>' | '>=', value: string | number | boolean): this {
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

  groupBy(...tags: TagOf<M>[]): this {
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
    if (this.#fill ?? (this.#aggregated && this.#groupBy.some((g) => g.startsWith('time(')) ? 'none' : undefined)) parts.push(`fill(${this.#fill ?? 'none'})`);
    if (this.#order) parts.push(this.#order);
    if (this.#limit !== undefined) parts.push(`LIMIT ${this.#limit}`);
    return parts.join(' ');
  }
}

/** Any built query (the builder is invariant in its measurement; panels only need the text). */
export interface AnyInfluxQuery {
  readonly measurement: Measurement;
  toString(): string;
}

/** Starts a query on one of the sink's measurements (optionally in a retention policy, e.g. `rollup_1d`). */
export function select<M extends Measurement>(measurement: M, policy?: string): InfluxQuery<M> {
  return new InfluxQuery(measurement, policy);
}

/** `SHOW TAG VALUES` for a template variable (typed like the queries). */
export function tagValues<M extends Measurement>(measurement: M, tag: TagOf<M>, where?: { tag: TagOf<M>; value: string }): string {
  const cond = where ? ` WHERE ${ident(where.tag)} = ${literal(where.value)}` : '';
  return `SHOW TAG VALUES FROM ${ident(measurement)} WITH KEY = ${ident(tag)}${cond}`;
}
