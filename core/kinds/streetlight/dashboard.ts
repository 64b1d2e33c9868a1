import * as bargauge from '@grafana/grafana-foundation-sdk/bargauge';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as geomap from '@grafana/grafana-foundation-sdk/geomap';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { selector } from '../../../dashboards/influxql.js';
import { PIPELINE_MEASUREMENTS } from '../../../processors/sinks/influxdb/points.js';
import { LIGHTING_MEASUREMENTS } from './points.js';
import {
  alertAnnotations,
  ANNOTATION_TAG,
  byThresholds,
  cityDashboard,
  finish,
  influx,
  lastValue,
  percentOfTarget,
  queryVariable,
  targetThresholds,
  thresholds,
} from '../../../dashboards/common.js';
import { cityMap, markers } from '../../../dashboards/boards/maps.js';

const { select, tagValues } = selector({ ...LIGHTING_MEASUREMENTS, ...PIPELINE_MEASUREMENTS });

const DARK_ALERTS = ['StreetlightOut', 'CircuitDark'];

export function lightingDashboard(): dashboard.Dashboard {
  const city = () => select('lighting').where('scope', 'city');
  const byDistrict = () => select('lighting').where('scope', 'district').matches('name', 'district');
  const percentBars = (title: string, description: string, target: number, query: Parameters<typeof influx>[0]) =>
    percentOfTarget(
      new bargauge.PanelBuilder()
        .title(title)
        .description(description)
        .withTarget(influx(query, { alias: '$tag_name' })),
      target,
    )
      .orientation(common.VizOrientation.Horizontal)
      .height(8)
      .span(8);
  const cityStat = (title: string, query: Parameters<typeof influx>[0], target: number) =>
    percentOfTarget(new stat.PanelBuilder().title(title).withTarget(influx(query)), target)
      .height(4)
      .span(4);

  return finish(
    cityDashboard(
      'citybrain-lighting',
      'City Brain: Street lighting',
      'Lighting rate by district and road class, dark lamps and circuits, installation and intact rates.',
      ['streetlight'],
    )
      .withVariable(queryVariable('district', 'District', tagValues('lighting', 'name', { tag: 'scope', value: 'district' })))
      .annotation(alertAnnotations('Lighting alerts', [ANNOTATION_TAG, 'streetlight'], 'orange'))
      .withPanel(cityStat('Lighting rate, city (target 99 %)', city().agg('last', 'rate', 'rate', { times: 100 }), 99))
      .withPanel(cityStat('Installation rate (target 100 %)', city().agg('last', 'installationRate', 'installation', { times: 100 }), 100))
      .withPanel(cityStat('Facility intact rate (target 95 %)', city().agg('last', 'intactRate', 'intact', { times: 100 }), 95))
      .withPanel(
        new stat.PanelBuilder()
          .title('Dark circuits')
          .description('Circuits with most of their lamps dark at once (one CircuitDark alert each).')
          .withTarget(influx(city().agg('last', 'darkCircuits', 'dark circuits')))
          .thresholds(thresholds('green', [1, 'red']))
          .colorScheme(byThresholds())
          .reduceOptions(lastValue())
          .height(4)
          .span(4),
      )
      .withPanel(
        new stat.PanelBuilder()
          .title('Roads meeting their target')
          .description('Roads whose lighting meets the per-road rule (small roads: a maximum count of dark lamps), and those that do not.')
          .withTarget(influx(city().agg('last', 'roadsCompliant', 'compliant').agg('last', 'roadsNonCompliant', 'not compliant')))
          .reduceOptions(lastValue())
          .colorScheme(byThresholds())
          .thresholds(thresholds('blue'))
          .height(4)
          .span(4),
      )
      .withPanel(
        new stat.PanelBuilder()
          .title('Schedule: on / half-night')
          .description(
            'Whether the timetable has lamps on now, and whether half-night mode (every other lamp off late at night) is active.',
          )
          .withTarget(influx(city().agg('last', 'scheduledOn', 'scheduled on').agg('last', 'halfNight', 'half-night')))
          .reduceOptions(lastValue())
          .mappings([
            {
              type: dashboard.MappingType.ValueToText,
              options: { true: { text: 'yes', color: 'green', index: 0 }, false: { text: 'no', color: 'text', index: 1 } },
            },
          ])
          .height(4)
          .span(4),
      )
      .withPanel(
        new timeseries.PanelBuilder()
          .title('Lighting rate by district')
          .withTarget(
            influx(byDistrict().agg('mean', 'rate', 'rate', { times: 100 }).groupByTime().groupBy('name'), { alias: '$tag_name' }),
          )
          .unit('percent')
          .min(80)
          .max(100)
          .thresholds(targetThresholds(99))
          .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed))
          .height(9)
          .span(12),
      )
      .withPanel(
        new timeseries.PanelBuilder()
          .title('Lighting rate by road class, against its target')
          .withTarget(
            influx(
              select('lighting').agg('mean', 'rate', 'rate', { times: 100 }).where('scope', 'roadClass').groupByTime().groupBy('name'),
              { alias: '$tag_name' },
            ),
          )
          .withTarget(
            influx(
              select('lighting').agg('mean', 'target', 'target', { times: 100 }).where('scope', 'roadClass').groupByTime().groupBy('name'),
              { alias: 'target $tag_name', refId: 'B' },
            ),
          )
          .overrideByRegexp('^target ', [
            { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
            { id: 'custom.lineWidth', value: 1 },
          ])
          .unit('percent')
          .min(80)
          .max(100)
          .height(9)
          .span(12),
      )
      .withPanel(
        new geomap.PanelBuilder()
          .title('Dark lamps and circuits (alerts fired in the time range)')
          .description(
            'StreetlightOut at the lamp, CircuitDark at the centre of its lamps; from the alert events with the registry coordinates.',
          )
          .withTarget(
            influx(
              select('alerts')
                .field('lat')
                .field('lon')
                .field('subject')
                .field('summary')
                .tag('alertname')
                .whereIn('alertname', DARK_ALERTS)
                .where('state', 'firing')
                .matches('district', 'district'),
              { table: true },
            ),
          )
          .view(cityMap())
          .basemap(new common.MapLayerOptionsBuilder().type('default').name('Basemap'))
          .layers([markers('Dark lamps', 'red')])
          .tooltip(new geomap.TooltipOptionsBuilder().mode(geomap.TooltipMode.Details))
          .height(12)
          .span(12),
      )
      .withPanel(
        new table.PanelBuilder()
          .title('Dark lamps and circuits: alert events')
          .withTarget(
            influx(
              select('alerts')
                .field('subject')
                .field('summary')
                .tag('alertname')
                .tag('state')
                .tag('district')
                .whereIn('alertname', DARK_ALERTS)
                .matches('district', 'district')
                .orderByTimeDesc()
                .limit(500),
              { table: true },
            ),
          )
          .height(12)
          .span(12),
      )
      .withPanel(
        new timeseries.PanelBuilder()
          .title('Dark circuits and lamps on in daytime')
          .withTarget(influx(city().agg('max', 'darkCircuits', 'dark circuits').agg('max', 'onInDaytime', 'on in daytime').groupByTime()))
          .height(8)
          .span(8),
      )
      .withPanel(
        percentBars(
          'Installation rate by district (target 100 %)',
          'Installed / designed lamp positions; a road with designed positions and no lamp counts 0 %.',
          100,
          byDistrict().agg('last', 'installationRate', 'installation', { times: 100 }).groupBy('name'),
        ),
      )
      .withPanel(
        percentBars(
          'Installation rate by road class (target 100 %)',
          'Installed / designed lamp positions per road class.',
          100,
          select('lighting').agg('last', 'installationRate', 'installation', { times: 100 }).where('scope', 'roadClass').groupBy('name'),
        ),
      )
      .withPanel(
        percentBars(
          'Facility intact rate by district (target 95 %)',
          'Facilities without an open fault / all facilities.',
          95,
          byDistrict().agg('last', 'intactRate', 'intact', { times: 100 }).groupBy('name'),
        ),
      )
      .withPanel(
        new timeseries.PanelBuilder()
          .title('Installation and intact rates, city')
          .withTarget(
            influx(
              city()
                .agg('mean', 'installationRate', 'installation', { times: 100 })
                .agg('mean', 'intactRate', 'intact', { times: 100 })
                .groupByTime(),
            ),
          )
          .unit('percent')
          .height(8)
          .span(8),
      )
      .withPanel(
        new timeseries.PanelBuilder()
          .title('Lamps lit, expected and unknown, city')
          .withTarget(
            influx(city().agg('mean', 'lit', 'lit').agg('mean', 'expected', 'expected').agg('mean', 'unknown', 'unknown').groupByTime()),
          )
          .height(8)
          .span(8),
      ),
  );
}
