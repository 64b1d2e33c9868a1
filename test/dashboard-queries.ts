/**
 * Runs the InfluxQL of generated Grafana dashboards against a real InfluxDB, as Grafana would
 * (macros and variables filled in): the dashboards tests' one way to say "every panel has data".
 */
import type { allDashboards } from '../dashboards/provisioning.js';
import { DATASOURCES } from '../dashboards/common.js';
import type { Row } from './influxql.js';

/** Rows with at least one value besides the time (fill() and multi-field selects can return all-null rows). */
export const hasValues = (rows: Row[]) =>
  rows.some((r) => Object.entries(r).some(([k, v]) => k !== 'time' && v !== null && v !== undefined));

export interface Target {
  refId: string;
  datasource: { uid: string };
  query?: string;
  expr?: string;
}
export interface Panel {
  title: string;
  repeat?: string;
  targets: Target[];
}
interface Variable {
  name: string;
  query: string;
}

type Dashboards = ReturnType<typeof allDashboards>;

/**
 * Runs every InfluxQL target of every panel and every variable query of `dashboards` with Grafana's
 * macros filled in; returns the queries that failed and those that returned no values.
 */
export async function runAll(
  dashboards: Dashboards,
  run: (query: string) => Promise<Row[] | Error>,
  fill: (query: string, vars: Record<string, string>) => string,
) {
  const empty: string[] = [];
  const broken: string[] = [];
  let executed = 0;
  for (const d of dashboards) {
    const json = JSON.parse(JSON.stringify(d)) as { uid: string; panels: Panel[]; templating: { list?: Variable[] } };
    // Each variable's own query must list values; panels run with "All" (.*), a repeated panel with one value.
    const firstValue: Record<string, string> = {};
    for (const v of json.templating.list ?? []) {
      const rows = await run(v.query);
      executed++;
      if (rows instanceof Error) broken.push(`${json.uid} variable $${v.name}: ${rows.message}`);
      else if (!hasValues(rows)) empty.push(`${json.uid} variable $${v.name}: ${v.query}`);
      else firstValue[v.name] = String(rows[0]!.value).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    }
    for (const p of json.panels) {
      for (const t of p.targets) {
        if (t.datasource.uid !== DATASOURCES.influxdb.uid) continue;
        const vars = Object.fromEntries(
          (json.templating.list ?? []).map((v) => [v.name, p.repeat === v.name ? (firstValue[v.name] ?? '.*') : '.*']),
        );
        const query = fill(t.query!, vars);
        const rows = await run(query);
        executed++;
        const where = `${json.uid} / "${p.title}" ${t.refId}: ${query}`;
        if (rows instanceof Error) broken.push(`${where}\n      -> ${rows.message}`);
        else if (!hasValues(rows)) empty.push(where);
      }
    }
  }
  return { empty, broken, executed };
}

/** Grafana's macros and variables filled in, over a time range. */
export const macros = (timeFilter: string) => (query: string, vars: Record<string, string>) =>
  query
    .replaceAll('$timeFilter', timeFilter)
    .replaceAll('$__interval', '1m')
    .replace(/\$(\w+)/g, (m, name: string) => vars[name] ?? m);
