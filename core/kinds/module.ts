/**
 * The contract of a sensor kind: everything the pipeline needs from one kind, from ingest to the
 * dashboards. A built-in kind is one folder (`core/kinds/<kind>/`) whose `index.ts` exports one
 * `KindModule`, plus one line in `BUILTIN_KINDS` (./modules.ts); a profile kind becomes the same
 * contract from its file (./profile/module.ts). Every stage iterates the kind catalog's modules,
 * so a kind is handled everywhere or the module does not compile.
 *
 * Only types here: the parts are implemented with the stages' machinery (processors, sinks,
 * dashboards, simulator), which import core, so core must not import them at run time.
 */
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import type { z } from 'zod';
import type { KindMerger, KindProcessor, NodeFor } from '../../processors/types.js';
import type { FieldNamesOfType, Measurements, PointBuilder } from '../../processors/sinks/influxdb/builder.js';
import type { ModelContext } from '../../simulators/models/context.js';
import type { Config } from '../config.js';
import type { NodeRegistry } from '../registry/registry.js';
import type { KindProfile } from './profile/schema.js';

/** A kind's reading schema: JSON in, a reading with its event time (epoch ms) out. */
export type ReadingSchema = z.ZodType<Record<string, unknown> & { ts: number }>;

/** A reading as the simulator publishes it (the kind's reading schema accepts it). */
export interface SimulatedReading {
  ts: number;
  [field: string]: unknown;
}

/** How a kind's data reaches InfluxDB: its measurements and the points of its records. */
export interface InfluxPart<M extends Measurements = Measurements> {
  /** Every measurement it writes, with tags and field types (README of the sink). */
  measurements: M;
  /** Numeric fields per measurement downsampled hourly and daily on InfluxDB 1.x. */
  rollups: { readonly [K in keyof M]?: readonly FieldNamesOfType<M[K], 'number'>[] };
  /**
   * Points of one `metrics.<kind>` record `{ ts, kpis }`; false when the record is unreadable
   * (skipped and counted). `kpis` is the summary (the section without its `metricsLists`) or, for
   * a list entry, a section holding only that list with that one entry (the sink's `kpiSection`).
   */
  kpiPoints(b: PointBuilder<M>, value: unknown, registry: NodeRegistry | undefined): boolean;
  /** Points of one of its readings on `telemetry.raw`; absent: its readings are not written (high-rate kinds). */
  readingPoints?(b: PointBuilder<M>, value: unknown, registry: NodeRegistry | undefined): boolean;
}

/**
 * A list in a kind's KPI section (one entry per lot, station, well, node, ...) that grows with the
 * city: its `metrics.<kind>` topic carries it entry by entry, each keyed `<item>:<id>`, written when
 * the entry changed (processors/aggregation/metrics-publisher.ts), while the rest of the section
 * goes as one summary record. The list is in `id` order (`localeCompare`), so a reader rebuilds it
 * from the entries.
 */
export interface KeyedList {
  /** The top-level field of the section holding the list. */
  readonly field: string;
  /** What an entry is, the prefix of its key: `lot` -> `lot:<id>`. */
  readonly item: string;
  /** An entry's id, unique in the list. */
  id(entry: unknown): string;
}

/**
 * Devices that report on change as well as on their heartbeat (parking detectors): the simulator
 * asks when a node's state may next change and what it is then; a change is an event report.
 */
export interface EventReporting<N extends string = string> {
  /** The node's state at simulated time `t`, as a number to compare. */
  state(node: NodeFor<N>, t: number, ctx: ModelContext): number;
  /** The next simulated time after `t` at which its state may change. */
  nextChange(node: NodeFor<N>, t: number, seed: number): number;
}

/**
 * The simulator's scenarios of a kind: what each does to its nodes, as effects its model reads
 * back (`effectsOf` of simulators/models/context.ts). `E` the effects, `T` its tuning knobs.
 */
export interface KindScenarios<N extends string = string, E = unknown, T extends Record<string, number> = Record<string, number>> {
  /** The scenarios it takes part in (`normal` and `demo` included where it does), with what each does to its nodes. */
  readonly descriptions: Readonly<Record<string, string>>;
  /** Its knobs and their defaults (a run may override them by name). */
  readonly tuning: T;
  /** Its effects for the scenario `parts`, in order, on its nodes; `rand` is its own stream, so the result is deterministic. */
  build(parts: readonly string[], nodes: readonly NodeFor<N>[], rand: () => number, tuning: T): E;
}

/**
 * One sensor kind. `N` its name (folder, topics, registry, `metrics.<kind>`), `Sec` its section in
 * `/api/v1/kpis` (the domain's word where the API already uses one: `lighting` for `streetlight`),
 * `R`/`A` its reading and attribute schemas, `S` the section its processor hands its merger, `M`
 * its InfluxDB measurements.
 */
export interface KindModule<
  N extends string = string,
  Sec extends string = string,
  R extends ReadingSchema = ReadingSchema,
  A extends z.ZodObject = z.ZodObject,
  S = unknown,
  M extends Measurements = Measurements,
> {
  readonly name: N;
  readonly section: Sec;
  readonly reading: R;
  /** The registry attributes of its nodes (besides nodeId, kind, district, lat, lon). */
  readonly attrs: A;
  /** Seconds within which a healthy node reports (a registry entry may override it). */
  readonly expectedIntervalS: number;
  /** The alert names its processor and merger raise: Alertmanager routes and profile-name clashes come from here. */
  readonly alerts: readonly string[];
  /** Its KPI section: the response schema of `/api/v1/kpis` (and so of the OpenAPI document). */
  readonly kpis: z.ZodType;
  /** The lists of its section that `metrics.<kind>` carries entry by entry (none: the section goes whole). */
  readonly metricsLists: readonly KeyedList[];
  /** A fresh stateful processor (one per processing instance). */
  processor(config: Config): KindProcessor<N, S>;
  merger(config: Config): KindMerger<S>;
  readonly influx: InfluxPart<M>;
  /** Its Grafana dashboard. */
  dashboard(): dashboard.Dashboard;
  /** The simulator's reading of `node` at simulated time `t` (pure). `heartbeat` false: an event report. */
  model(node: NodeFor<N>, t: number, ctx: ModelContext, heartbeat: boolean): SimulatedReading;
  /** Set for devices that also report on change (absent: heartbeat only). */
  readonly events?: EventReporting<N>;
  /** Its simulator scenarios (absent: it takes part in none). */
  readonly scenarios?: KindScenarios<N>;
  /** A valid reading's fields (without ts) for `node` at `ts`, varied by a uniform random number `r`: test data. */
  sample(node: NodeFor<N>, ts: number, r: number): Record<string, unknown>;
  /** The reading with one kind-specific schema violation (`variant` 0 or 1): what bad data looks like. */
  violate(reading: Record<string, unknown>, variant: 0 | 1): Record<string, unknown>;
  /** Set for a profile kind: the file's definition. */
  readonly profile?: KindProfile;
}

/**
 * Any kind module, whatever its names and types (what the catalog holds). `any` for the name in the
 * parts: a processor's node and record types are conditional on its kind, which makes them
 * invariant in it, so `KindProcessor<'streetlight'>` is not a `KindProcessor<string>`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyKindModule = Omit<KindModule<any, string, ReadingSchema, z.ZodObject, any, any>, 'name'> & { readonly name: string };
