/**
 * The dashboard of a profile kind (a sensor kind defined by a profile file), generated from the
 * profile: city stats per aggregate, the districts (table and a time series per aggregate), the
 * readings per field, the nodes over a threshold, the kind's alerts and its online nodes. Every
 * query is built against the measurements the InfluxDB sink derives from the same profile
 * (processors/sinks/influxdb/profile.ts), so a name the sink does not write cannot appear.
 */
import * as common from '@grafana/grafana-foundation-sdk/common';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { conditionsOf, type KindProfile, type ProfileAggregate, type ProfileWhen } from '../../core/kinds/index.js';
import { profileMeasurementNames, profileMeasurements } from '../../processors/sinks/influxdb/profile.js';
import { PIPELINE_MEASUREMENTS } from '../../processors/sinks/influxdb/points.js';
import { selectFrom, selector, tagValuesFrom } from '../influxql.js';
import {
  alertAnnotations,
  ANNOTATION_TAG,
  byThresholds,
  cityDashboard,
  finish,
  influx,
  lastValue,
  queryVariable,
  thresholds,
} from '../common.js';

const { select } = selector(PIPELINE_MEASUREMENTS);

/** Grafana's uid limit. */
const MAX_UID = 40;

/** FNV-1a, 32 bit, as 8 hex digits: keeps a shortened uid unique and stable. */
function hash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** `citybrain-<kind>`; a kind name too long for Grafana's 40 characters is cut and given a hash of the whole. */
export function profileDashboardUid(kind: string): string {
  const uid = `citybrain-${kind}`;
  return uid.length <= MAX_UID ? uid : `${uid.slice(0, MAX_UID - 9)}-${hash(kind)}`;
}

/** A profile's unit as a Grafana unit id (the common ones), else shown as a suffix. */
export function grafanaUnit(unit: string | undefined): string {
  if (!unit) return 'none';
  const known: Record<string, string> = {
    m: 'lengthm',
    mm: 'lengthmm',
    km: 'lengthkm',
    deg: 'degree',
    '°': 'degree',
    C: 'celsius',
    '°C': 'celsius',
    '%': 'percent',
    V: 'volt',
    A: 'amp',
    W: 'watt',
    Wh: 'watth',
    kWh: 'kwatth',
    s: 's',
    ms: 'ms',
    dB: 'dB',
    hPa: 'pressurehpa',
    Pa: 'pressurepa',
    lux: 'lux',
    lx: 'lux',
  };
  return known[unit] ?? `suffix: ${unit}`;
}

const OPS: Record<string, string> = { gt: '>', gte: '>=', lt: '<', lte: '<=', eq: '=', ne: '!=' };

/** `depthM > 0.15`, `open = true or tiltDeg > 15`, `depthM > closureDepthM (per node)`. */
export function describeWhen(when: ProfileWhen): string {
  const joiner = 'all' in when ? ' and ' : ' or ';
  return conditionsOf(when)
    .map((c) => `${c.field} ${OPS[c.op]} ${typeof c.value === 'object' ? `${c.value.attribute} (per node)` : String(c.value)}`)
    .join(joiner);
}

/** What an aggregate is, in a few words, and its Grafana unit. */
function aggregateInfo(profile: KindProfile, a: ProfileAggregate): { text: string; unit: string } {
  if (a.op === 'count') return { text: `nodes where ${describeWhen(a.when)}`, unit: 'none' };
  if (a.op === 'timeOver') return { text: `longest current run of ${describeWhen(a.when)}`, unit: 's' };
  const field = profile.fields[a.field];
  return {
    text: `${a.op} of ${a.field} over the nodes' latest readings`,
    unit: grafanaUnit(field?.type === 'number' ? field.unit : undefined),
  };
}

/**
 * Widths of `count` panels laid out `perRow` to a row, each row filling the 24 columns (the SDK
 * places panels left to right and does not wrap one that does not fit).
 */
export function rowSpans(count: number, perRow: number): number[] {
  const spans: number[] = [];
  for (let start = 0; start < count; start += perRow) {
    const n = Math.min(perRow, count - start);
    for (let i = 0; i < n; i++) spans.push(Math.floor(24 / n) + (i < 24 % n ? 1 : 0));
  }
  return spans;
}

const refId = (i: number) =>
  i < 26 ? String.fromCharCode(65 + i) : `${String.fromCharCode(64 + Math.floor(i / 26))}${String.fromCharCode(65 + (i % 26))}`;

export function profileDashboard(profile: KindProfile): dashboard.Dashboard {
  const kind = profile.kind;
  const names = profileMeasurementNames(kind);
  const schema = profileMeasurements(profile);
  const kpis = () => selectFrom(names.kpis, schema[names.kpis]!);
  const nodeRows = () => selectFrom(names.node, schema[names.node]!).matches('district', 'district');
  const readings = () => selectFrom(names.reading, schema[names.reading]!).matches('district', 'district');
  const districts = () => kpis().where('scope', 'district').matches('name', 'district');
  const city = () => kpis().where('scope', 'city');
  const kindNodes = () => select('nodes').where('scope', 'kind').where('name', kind);
  const aggregates = profile.aggregates.map((a) => ({ ...a, ...aggregateInfo(profile, a) }));
  const description = profile.description ?? profile.title;

  // The city row: the node count and one stat per aggregate, at most six to a row.
  const statSpans = rowSpans(aggregates.length + 1, 6);
  let board = cityDashboard(
    profileDashboardUid(kind),
    `City Brain: ${profile.title}`,
    `${description}. Generated from the ${kind} kind profile.`,
    [kind, 'profile-kind'],
  )
    .withVariable(
      queryVariable('district', 'District', tagValuesFrom(names.kpis, schema[names.kpis]!, 'name', { tag: 'scope', value: 'district' })),
    )
    .annotation(alertAnnotations(`${profile.title} alerts`, [ANNOTATION_TAG, kind], 'orange'))
    .withPanel(
      new stat.PanelBuilder()
        .title('Nodes: registered, reporting')
        .description('Registry nodes of the kind, and those with at least one accepted reading.')
        .withTarget(influx(city().agg('last', 'nodes', 'registered').agg('last', 'reporting', 'reporting')))
        .reduceOptions(lastValue())
        .colorScheme(byThresholds())
        .thresholds(thresholds('blue'))
        .height(4)
        .span(statSpans[0]!),
    );
  // One stat per aggregate, in the profile's order, with the unit of the field it reads.
  for (const [i, a] of aggregates.entries()) {
    board = board.withPanel(
      new stat.PanelBuilder()
        .title(a.name)
        .description(a.description ?? a.text)
        .withTarget(influx(city().agg('last', a.name, a.name)))
        .unit(a.unit)
        .reduceOptions(lastValue())
        .colorScheme(byThresholds())
        .thresholds(thresholds('blue'))
        .height(4)
        .span(statSpans[i + 1]!),
    );
  }

  board = board.withPanel(
    new table.PanelBuilder()
      .title('Districts now')
      .withTarget(
        influx(
          aggregates
            .reduce(
              (q, a) => q.agg('last', a.name, a.name),
              districts().agg('last', 'nodes', 'registered').agg('last', 'reporting', 'reporting'),
            )
            .groupBy('name'),
          { table: true },
        ),
      )
      .withTransformation({ id: 'organize', options: { excludeByName: { Time: true }, renameByName: { name: 'district' } } })
      .overrides(aggregates.map((a) => ({ matcher: { id: 'byName', options: a.name }, properties: [{ id: 'unit', value: a.unit }] })))
      .height(8)
      .span(24),
  );
  // Per interval the aggregate's own sense (mean of means, lowest minimum), else the worst (highest count or run).
  const districtSpans = rowSpans(aggregates.length, 2);
  for (const [i, a] of aggregates.entries()) {
    board = board.withPanel(
      new timeseries.PanelBuilder()
        .title(`${a.name} by district`)
        .description(a.description ?? a.text)
        .withTarget(
          influx(
            districts()
              .agg(a.op === 'mean' || a.op === 'min' ? a.op : 'max', a.name, a.name)
              .groupByTime()
              .groupBy('name'),
            { alias: '$tag_name' },
          ),
        )
        .unit(a.unit)
        .height(8)
        .span(districtSpans[i]!),
    );
  }

  // The readings, one panel per field: numbers as mean per district and the city's highest; flags and enum values as counts.
  const fields = Object.entries(profile.fields);
  const fieldSpans = rowSpans(fields.length, 2);
  for (const [i, [field, spec]] of fields.entries()) {
    const title = `${field}${spec.type === 'number' && spec.unit ? ` (${spec.unit})` : ''}: readings`;
    let panel = new timeseries.PanelBuilder().title(title).height(8).span(fieldSpans[i]!);
    if (spec.description) panel = panel.description(spec.description);
    if (spec.type === 'number') {
      panel = panel
        .withTarget(influx(readings().agg('mean', field, field).groupByTime().groupBy('district'), { alias: 'mean $tag_district' }))
        .withTarget(influx(readings().agg('max', field, 'highest').groupByTime(), { alias: 'highest', refId: 'B' }))
        .unit(grafanaUnit(spec.unit));
    } else if (spec.type === 'boolean') {
      panel = panel
        .description(`${spec.description ? `${spec.description}. ` : ''}Readings with ${field} = true per interval and district.`)
        .withTarget(
          influx(readings().agg('count', field, field).fieldIs(field, '=', true).groupByTime().groupBy('district'), {
            alias: `${field} $tag_district`,
          }),
        )
        .drawStyle(common.GraphDrawStyle.Bars);
    } else {
      spec.values.forEach((value, i) => {
        panel = panel.withTarget(
          influx(readings().agg('count', field, value).fieldIs(field, '=', value).groupByTime(), { alias: value, refId: refId(i) }),
        );
      });
      panel = panel.drawStyle(common.GraphDrawStyle.Bars).stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
    }
    board = board.withPanel(panel);
  }

  // The nodes the KPIs list (those meeting a count / timeOver condition or an alert rule), with their latest values.
  const nodeFields = Object.entries(schema[names.node]!.fields);
  const nodeUnits = nodeFields.flatMap(([name]) => {
    const unit = profile.aggregates.some((a) => a.op === 'timeOver' && a.name === name)
      ? 's'
      : (() => {
          const f = profile.fields[name];
          return f?.type === 'number' && f.unit ? grafanaUnit(f.unit) : undefined;
        })();
    return unit ? [{ matcher: { id: 'byName', options: name }, properties: [{ id: 'unit', value: unit }] }] : [];
  });
  board = board.withPanel(
    new table.PanelBuilder()
      .title('Nodes over a threshold')
      .description(
        `Nodes meeting a condition of the profile (${[...new Set([...profile.aggregates.flatMap((a) => (a.op === 'count' || a.op === 'timeOver' ? [describeWhen(a.when)] : [])), ...profile.alerts.map((r) => describeWhen(r.when))])].join('; ')}) in the time range, with the latest values, how long each condition has held and the alert rules that hold.`,
      )
      .withTarget(
        influx(nodeFields.reduce((q, [name]) => q.agg('last', name, name), nodeRows()).groupBy('node', 'district'), { table: true }),
      )
      .withTransformation({ id: 'organize', options: { renameByName: { Time: 'last listed' } } })
      .sortBy([new common.TableSortByFieldStateBuilder().displayName('ruleCount').desc(true)])
      .overrides(nodeUnits)
      .height(10)
      .span(24),
  );

  // The kind's alerts, as the other boards show theirs, and its online nodes (node health's per-kind tally).
  const alertNames = [...new Set(profile.alerts.map((r) => r.alert))];
  board = board
    .withPanel(
      new table.PanelBuilder()
        .title(`Alerts (${alertNames.join(', ') || 'none defined'})`)
        .withTarget(
          influx(
            select('alerts')
              .field('subject')
              .field('summary')
              .field('value')
              .tag('alertname')
              .tag('severity')
              .tag('state')
              .tag('district')
              .where('kind', kind)
              .matches('district', 'district')
              .orderByTimeDesc()
              .limit(200),
            {
              table: true,
            },
          ),
        )
        .height(10)
        .span(16),
    )
    .withPanel(
      new timeseries.PanelBuilder()
        .title('Alert changes by state')
        .withTarget(
          influx(
            select('alerts')
              .agg('count', 'id', 'changes')
              .where('kind', kind)
              .matches('district', 'district')
              .groupByTime()
              .groupBy('state'),
            { alias: '$tag_state' },
          ),
        )
        .drawStyle(common.GraphDrawStyle.Bars)
        .height(10)
        .span(8),
    )
    .withPanel(
      new stat.PanelBuilder()
        .title('Online nodes')
        .withTarget(
          influx(kindNodes().agg('last', 'online', 'online').agg('last', 'offline', 'offline').agg('last', 'total', 'registered')),
        )
        .reduceOptions(lastValue())
        .colorScheme(byThresholds())
        .thresholds(thresholds('blue'))
        .height(8)
        .span(8),
    )
    .withPanel(
      new timeseries.PanelBuilder()
        .title('Online ratio')
        .withTarget(influx(kindNodes().agg('mean', 'ratio', 'online', { times: 100 }).groupByTime()))
        .unit('percent')
        .min(0)
        .max(100)
        .thresholds(thresholds('red', [90, 'orange'], [98, 'green']))
        .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed))
        .height(8)
        .span(16),
    );
  return finish(board);
}
