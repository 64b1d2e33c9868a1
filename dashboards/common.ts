/**
 * What every dashboard shares: the datasource references (uids fixed here and in the provisioned
 * datasources), the InfluxQL and PromQL targets, thresholds, the `district` style variables and the
 * alert annotations the Grafana notifier writes (processors/sinks/grafana).
 */
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import { PipelineMetrics } from '../core/metrics.js';
import type { AnyInfluxQuery } from './influxql.js';

export const DATASOURCES = {
  influxdb: { type: 'influxdb', uid: 'citybrain-influxdb', name: 'City Brain InfluxDB' },
  prometheus: { type: 'prometheus', uid: 'citybrain-prometheus', name: 'City Brain Prometheus' },
  alertmanager: { type: 'alertmanager', uid: 'citybrain-alertmanager', name: 'City Brain Alertmanager' },
} as const;

export const influxRef: common.DataSourceRef = { type: DATASOURCES.influxdb.type, uid: DATASOURCES.influxdb.uid };
export const promRef: common.DataSourceRef = { type: DATASOURCES.prometheus.type, uid: DATASOURCES.prometheus.uid };

/** Every annotation the Grafana notifier posts carries this tag (plus alertname, district, kind, severity, state). */
export { ANNOTATION_TAG } from '../processors/sinks/grafana/annotations.js';
export const FOLDER = { uid: 'city-brain', title: 'City Brain' } as const;

/** The query model of Grafana's InfluxDB datasource in InfluxQL raw mode. */
export interface InfluxTarget extends cog.Dataquery {
  refId: string;
  datasource: common.DataSourceRef;
  query: string;
  rawQuery: true;
  resultFormat: 'time_series' | 'table';
  alias?: string;
}

/**
 * An InfluxQL target for a panel. `alias` names series (`$tag_name`, `$col`); `table` returns one
 * row per series (maps, lists).
 */
export function influx(
  query: AnyInfluxQuery,
  options: { refId?: string; alias?: string; table?: boolean } = {},
): cog.Builder<cog.Dataquery> {
  const target: InfluxTarget = {
    refId: options.refId ?? 'A',
    datasource: influxRef,
    query: query.toString(),
    rawQuery: true,
    resultFormat: options.table ? 'table' : 'time_series',
    ...(options.alias !== undefined ? { alias: options.alias } : {}),
    _implementsDataqueryVariant: () => {},
  };
  return { build: () => target };
}

/** The pipeline's metric names, read from the metric objects themselves (a typo does not compile). */
const METRICS = new PipelineMetrics({ defaultMetrics: false });
type MetricKey = { [K in keyof PipelineMetrics]: PipelineMetrics[K] extends { get(): unknown } ? K : never }[keyof PipelineMetrics];
export function metric(key: MetricKey): string {
  return (METRICS[key] as unknown as { name: string }).name;
}

/** A PromQL target; `legend` e.g. `{{kind}}`. */
export function prom(expr: string, legend: string, refId = 'A'): cog.Builder<cog.Dataquery> {
  return new prometheus.DataqueryBuilder().datasource(promRef).expr(expr).legendFormat(legend).range().refId(refId);
}

/** Ascending thresholds: `[base colour, [value, colour], ...]`. */
export function thresholds(base: string, ...steps: [number, string][]): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder()
    .mode(dashboard.ThresholdsMode.Absolute)
    .steps([{ value: null, color: base }, ...steps.map(([value, color]) => ({ value, color }))]);
}

/** A percentage KPI against its plan target: red below target - 2 points, orange below target, green at or above. */
export function targetThresholds(targetPercent: number): dashboard.ThresholdsConfigBuilder {
  return thresholds('red', [targetPercent - 2, 'orange'], [targetPercent, 'green']);
}

/** The builder methods a percent-of-target panel (stat, bar gauge, gauge) needs. */
interface PercentPanel<B> {
  unit(unit: string): B;
  decimals(decimals: number): B;
  min(min: number): B;
  max(max: number): B;
  thresholds(thresholds: dashboard.ThresholdsConfigBuilder): B;
  colorScheme(color: dashboard.FieldColorBuilder): B;
  reduceOptions(options: common.ReduceDataOptionsBuilder): B;
}

/** 0..100 %, last value, coloured against the plan target (see `targetThresholds`). */
export function percentOfTarget<B extends PercentPanel<B>>(panel: B, targetPercent: number): B {
  return panel
    .unit('percent')
    .decimals(1)
    .min(0)
    .max(100)
    .thresholds(targetThresholds(targetPercent))
    .colorScheme(byThresholds())
    .reduceOptions(lastValue());
}

export const byThresholds = () => new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.Thresholds);
export const lastValue = () => new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false);
export const allValues = () => new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(true);

/** A multi-value variable over the values a `SHOW TAG VALUES` query lists (All = every value). */
export function queryVariable(name: string, label: string, query: string): dashboard.QueryVariableBuilder {
  return new dashboard.QueryVariableBuilder(name)
    .label(label)
    .datasource(influxRef)
    .query(query)
    .definition(query)
    .multi(true)
    .includeAll(true)
    .allValue('.*')
    .current({ text: ['All'], value: ['$__all'], selected: true })
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc);
}

/** Grafana's own annotations with the given tags (all must match): the notifier's alert events. */
export function alertAnnotations(name: string, tags: string[], color: string): dashboard.AnnotationQueryBuilder {
  const target = { type: 'tags', tags, matchAny: false, limit: 200, _implementsDataqueryVariant: () => {} } as cog.Dataquery;
  return new dashboard.AnnotationQueryBuilder()
    .name(name)
    .datasource({ type: 'grafana', uid: '-- Grafana --' })
    .enable(true)
    .iconColor(color)
    .target({ build: () => target });
}

/**
 * The dashboard with stable panel ids (1..n in layout order). Grafana assigns missing ids itself, but
 * on every load anew; fixed ids keep links and the generated files stable.
 */
export function finish(builder: dashboard.DashboardBuilder): dashboard.Dashboard {
  const built = builder.build();
  let id = 0;
  for (const panel of built.panels ?? []) {
    panel.id = ++id;
    if ('panels' in panel && Array.isArray(panel.panels)) for (const inner of panel.panels) inner.id = ++id;
  }
  return built;
}

/** Defaults every City Brain dashboard shares. */
export function cityDashboard(uid: string, title: string, description: string, tags: string[]): dashboard.DashboardBuilder {
  return new dashboard.DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['city-brain', ...tags])
    .timezone('browser')
    .editable()
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .time({ from: 'now-6h', to: 'now' })
    .refresh('30s')
    .link(
      new dashboard.DashboardLinkBuilder('City Brain')
        .type(dashboard.DashboardLinkType.Dashboards)
        .tags(['city-brain'])
        .asDropdown(true)
        .includeVars(false)
        .keepTime(true),
    );
}
