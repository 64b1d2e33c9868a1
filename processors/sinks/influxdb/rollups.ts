/**
 * Retention and downsampling for InfluxDB **1.x only** (retention policies + continuous queries are
 * InfluxQL/1.x features; on 2.x/3.x use bucket retention and tasks instead and skip this module).
 * The sink calls `ensureRollups` at start only when GET /ping reports `X-Influxdb-Version: 1.*`.
 *
 * What it sets up in `database` (idempotent: a second run changes nothing):
 * - the raw RP (the sink's bucket RP, default `autogen`, which stays the default RP) altered to
 *   `rawDuration` (default 30 d, shard groups 1 d);
 * - `rollup_1h` (2 years, shard groups 7 d) and `rollup_1d` (10 years, shard groups 30 d);
 * - per KPI measurement M two continuous queries, from the raw data:
 *   `cq_M_1h`: mean/min/max of each numeric field per hour, GROUP BY all tags, into `rollup_1h.M_1h`
 *   (RESAMPLE FOR 3h: hours rewritten for 3 h, so a sink catching up after an outage < 2 h is included);
 *   `cq_M_1d`: the same per day into `rollup_1d.M_1d` (RESAMPLE FOR 2d).
 *   Fields are named `<field>_mean`, `<field>_min`, `<field>_max`.
 *   The kinds' measurements come from their modules (`influx.rollups`), passed in as `measurements`
 *   (`kindRollups` of the sink's kind catalog); node health's are the pipeline's own.
 */

import { withDefaults, type KindCatalog } from '../../../core/index.js';
import type { PIPELINE_MEASUREMENTS } from './points.js';
import type { FieldNamesOfType } from './builder.js';

type Pipeline = typeof PIPELINE_MEASUREMENTS;
/** Numeric fields of the pipeline's own measurements downsampled (booleans/strings are not aggregated). */
export const PIPELINE_ROLLUPS = {
  nodes: ['total', 'online', 'offline', 'ratio', 'neverSeen', 'batteryLow'],
} as const satisfies { [M in keyof Pipeline]?: readonly FieldNamesOfType<Pipeline[M], 'number'>[] };

/** Every downsampled measurement with its numeric fields: each kind's (`influx.rollups` of its module), for `measurements`. */
export function kindRollups(kinds: KindCatalog): Record<string, readonly string[]> {
  const out: Record<string, readonly string[]> = {};
  for (const m of kinds.modules()) for (const [name, fields] of Object.entries(m.influx.rollups)) if (fields) out[name] = fields;
  return out;
}

export const ROLLUPS = {
  '1h': { policy: 'rollup_1h', duration: '730d', shardDuration: '7d', resampleFor: '3h' },
  '1d': { policy: 'rollup_1d', duration: '3650d', shardDuration: '30d', resampleFor: '2d' },
} as const;

export type RollupInterval = keyof typeof ROLLUPS;

export interface EnsureRollupsOptions {
  url: string;
  /** `user:password` on 1.x with auth (sent as `Authorization: Token ...`); ignored without auth. */
  token?: string;
  database: string;
  /** The RP the raw points are written to (the bucket's part after `/`); default `autogen`. */
  rawPolicy?: string;
  /** Retention of the raw RP; default `30d`. `INF` keeps raw data forever. */
  rawDuration?: string;
  timeoutMs?: number;
  /** The kinds' measurements to downsample, with their numeric fields (`kindRollups`). */
  measurements?: Readonly<Record<string, readonly string[]>>;
}

/** The rollup setup's defaults (the sink passes rawPolicy and rawDuration from its bucket and rawRetention). */
export const ROLLUP_DEFAULTS = {
  rawPolicy: 'autogen',
  rawDuration: '30d',
  timeoutMs: 10_000,
};

export interface RollupsResult {
  /** e.g. `retention policy rollup_1h (730d)`, `continuous query cq_lighting_1h` */
  created: string[];
  /** Existing objects changed to match (an RP duration, a CQ recreated with a new definition). */
  altered: string[];
  unchanged: string[];
}

const ident = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** Every downsampled measurement with its numeric fields: the pipeline's and `extra` (the kinds'). */
function rollupMeasurements(extra: Readonly<Record<string, readonly string[]>> = {}): Map<string, readonly string[]> {
  const all = new Map<string, readonly string[]>(Object.entries(PIPELINE_ROLLUPS));
  for (const [m, fields] of Object.entries(extra)) {
    if (all.has(m)) throw new Error(`rollups: ${m} is a pipeline measurement`);
    if (fields.length > 0) all.set(m, fields);
  }
  return all;
}

/** The SELECT ... INTO of one continuous query (without time range / GROUP BY time interval part appended). */
function selectInto(
  database: string,
  rawPolicy: string,
  measurement: string,
  numeric: readonly string[],
  interval: RollupInterval,
): string {
  const fields = numeric.flatMap((f) => (['mean', 'min', 'max'] as const).map((fn) => `${fn}(${ident(f)}) AS ${ident(`${f}_${fn}`)}`));
  const into = `${ident(database)}.${ident(ROLLUPS[interval].policy)}.${ident(`${measurement}_${interval}`)}`;
  return `SELECT ${fields.join(', ')} INTO ${into} FROM ${ident(database)}.${ident(rawPolicy)}.${ident(measurement)}`;
}

/** The CQ's query run by hand over [fromMs, toMs): what the CQ writes for those intervals (backfill, tests). */
export function rollupBackfillQuery(
  o: { database: string; rawPolicy?: string; measurements?: EnsureRollupsOptions['measurements'] },
  measurement: string,
  interval: RollupInterval,
  fromMs: number,
  toMs: number,
): string {
  const numeric = rollupMeasurements(o.measurements).get(measurement);
  if (!numeric) throw new Error(`rollups: no downsampled measurement ${measurement}`);
  const { rawPolicy } = withDefaults(ROLLUP_DEFAULTS, o);
  return `${selectInto(o.database, rawPolicy, measurement, numeric, interval)} WHERE time >= ${fromMs}ms AND time < ${toMs}ms GROUP BY time(${interval}), *`;
}

export function continuousQueryName(measurement: string, interval: RollupInterval): string {
  return `cq_${measurement}_${interval}`;
}

function continuousQuery(
  database: string,
  rawPolicy: string,
  measurement: string,
  numeric: readonly string[],
  interval: RollupInterval,
): string {
  const r = ROLLUPS[interval];
  return `CREATE CONTINUOUS QUERY ${ident(continuousQueryName(measurement, interval))} ON ${ident(database)} RESAMPLE EVERY ${interval} FOR ${r.resampleFor} BEGIN ${selectInto(database, rawPolicy, measurement, numeric, interval)} GROUP BY time(${interval}), * END`;
}

/** Duration text (`30d`, `720h0m0s`, `INF`, `0s`) in ms; 0 = infinite. */
export function durationMs(text: string): number {
  if (/^inf$/i.test(text.trim())) return 0;
  const units: Record<string, number> = {
    ns: 1e-6,
    u: 1e-3,
    µs: 1e-3,
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
    d: 86_400_000,
    w: 604_800_000,
  };
  let total = 0;
  for (const [, n, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ns|u|µs|ms|s|m|h|d|w)/g)) total += Number(n) * (units[unit!] ?? 0);
  return Math.round(total);
}

/** Whitespace, quotes and case do not matter when comparing a CQ definition with SHOW's text. */
const canonical = (q: string) => q.replace(/["\s]/g, '').toLowerCase();

interface Series {
  name?: string;
  columns: string[];
  values?: unknown[][];
}

async function query(o: EnsureRollupsOptions & typeof ROLLUP_DEFAULTS, q: string, db?: string): Promise<Series[]> {
  const response = await fetch(`${o.url.replace(/\/+$/, '')}/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(o.token ? { authorization: `Token ${o.token}` } : {}) },
    body: new URLSearchParams({ q, ...(db ? { db } : {}) }),
    signal: AbortSignal.timeout(o.timeoutMs),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`InfluxQL ${JSON.stringify(q.slice(0, 120))}: HTTP ${response.status} ${text.trim().slice(0, 300)}`);
  const json = JSON.parse(text) as { error?: string; results?: Array<{ error?: string; series?: Series[] }> };
  const error = json.error ?? json.results?.find((r) => r.error)?.error;
  if (error) throw new Error(`InfluxQL ${JSON.stringify(q.slice(0, 120))}: ${error}`);
  return json.results?.[0]?.series ?? [];
}

const rows = (s: Series | undefined) =>
  (s?.values ?? []).map((v) => Object.fromEntries(s!.columns.map((c, i) => [c, v[i]])) as Record<string, unknown>);

/** `X-Influxdb-Version` from GET /ping (e.g. `1.13.2`, `v2.7.10`), or null if the header is absent. */
export async function influxVersion(url: string, timeoutMs = 5000): Promise<string | null> {
  const response = await fetch(`${url.replace(/\/+$/, '')}/ping`, { signal: AbortSignal.timeout(timeoutMs) });
  await response.arrayBuffer();
  return response.headers.get('x-influxdb-version');
}

export const isInflux1 = (version: string | null) => version !== null && /^v?1\./.test(version);

/** Creates/aligns the retention policies and continuous queries above (InfluxDB 1.x). Idempotent. */
export async function ensureRollups(options: EnsureRollupsOptions): Promise<RollupsResult> {
  const o = { ...options, ...withDefaults(ROLLUP_DEFAULTS, options) };
  const result: RollupsResult = { created: [], altered: [], unchanged: [] };
  const { database } = o;
  // An empty policy (a bucket written `db/`) means the default one here too.
  const rawPolicy = options.rawPolicy || ROLLUP_DEFAULTS.rawPolicy;
  const db = ident(database);

  const policies = new Map(rows((await query(o, `SHOW RETENTION POLICIES ON ${db}`))[0]).map((r) => [String(r.name), r]));
  const wanted = [
    { policy: rawPolicy, duration: o.rawDuration, shardDuration: '1d', raw: true },
    ...Object.values(ROLLUPS).map((r) => ({ ...r, raw: false })),
  ];
  for (const w of wanted) {
    const infinite = durationMs(w.duration) === 0;
    const label = `retention policy ${w.policy} (${infinite ? 'INF' : w.duration})`;
    const existing = policies.get(w.policy);
    const shard = infinite ? '' : ` SHARD DURATION ${w.shardDuration}`;
    if (!existing) {
      await query(o, `CREATE RETENTION POLICY ${ident(w.policy)} ON ${db} DURATION ${infinite ? 'INF' : w.duration} REPLICATION 1${shard}`);
      result.created.push(label);
    } else if (durationMs(String(existing.duration)) !== durationMs(w.duration)) {
      await query(o, `ALTER RETENTION POLICY ${ident(w.policy)} ON ${db} DURATION ${infinite ? 'INF' : w.duration}${shard}`);
      result.altered.push(`${label}, was ${String(existing.duration)}`);
    } else {
      result.unchanged.push(label);
    }
  }

  const cqs = new Map<string, string>();
  for (const s of await query(o, 'SHOW CONTINUOUS QUERIES'))
    if (s.name === database) for (const r of rows(s)) cqs.set(String(r.name), String(r.query));
  for (const [measurement, numeric] of rollupMeasurements(o.measurements)) {
    for (const interval of Object.keys(ROLLUPS) as RollupInterval[]) {
      const name = continuousQueryName(measurement, interval);
      const statement = continuousQuery(database, rawPolicy, measurement, numeric, interval);
      const existing = cqs.get(name);
      const label = `continuous query ${name}`;
      if (existing !== undefined && canonical(existing) === canonical(statement)) {
        result.unchanged.push(label);
        continue;
      }
      if (existing !== undefined) await query(o, `DROP CONTINUOUS QUERY ${ident(name)} ON ${db}`);
      await query(o, statement);
      (existing !== undefined ? result.altered : result.created).push(label);
    }
  }
  return result;
}
