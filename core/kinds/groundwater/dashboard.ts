import * as bargauge from '@grafana/grafana-foundation-sdk/bargauge';
import * as common from '@grafana/grafana-foundation-sdk/common';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { selector } from '../../../dashboards/influxql.js';
import { PIPELINE_MEASUREMENTS } from '../../../processors/sinks/influxdb/points.js';
import { GROUNDWATER_MEASUREMENTS } from './points.js';
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
} from '../../../dashboards/common.js';

const { select, tagValues } = selector({ ...GROUNDWATER_MEASUREMENTS, ...PIPELINE_MEASUREMENTS });

const dashed = (color: string) => [
  { id: 'color', value: { mode: 'fixed', fixedColor: color } },
  { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
  { id: 'custom.lineWidth', value: 1 },
];

export function groundwaterDashboard(): dashboard.Dashboard {
  const wells = () => select('groundwater_well').matches('well', 'well');
  return finish(
    cityDashboard(
      'citybrain-groundwater',
      'City Brain: Groundwater and springs',
      'Groundwater level per well against its yellow / orange / red lines, trends and projected time to the next line.',
      ['groundwater'],
    )
      .time({ from: 'now-7d', to: 'now' })
      .withVariable(queryVariable('well', 'Well', tagValues('groundwater_well', 'well')))
      .annotation(alertAnnotations('Groundwater alerts', [ANNOTATION_TAG, 'groundwater'], 'orange'))
      .withPanel(
        new timeseries.PanelBuilder()
          .title('$well: level against its warning lines')
          .description(
            "Median-filtered level (m above sea level) and the well's yellow, orange and red lines (Baotu Spring 28.15 / 28.00 / 27.60 m).",
          )
          .repeat('well')
          .repeatDirection('h')
          .maxPerRow(3)
          .withTarget(
            influx(
              wells()
                .agg('mean', 'level', 'level')
                .agg('last', 'yellow', 'yellow')
                .agg('last', 'orange', 'orange')
                .agg('last', 'red', 'red')
                .groupByTime()
                .fill('previous'),
            ),
          )
          .unit('lengthm')
          .decimals(2)
          .overrideByName('level', [
            { id: 'color', value: { mode: 'fixed', fixedColor: 'blue' } },
            { id: 'custom.lineWidth', value: 2 },
          ])
          .overrideByName('yellow', dashed('yellow'))
          .overrideByName('orange', dashed('orange'))
          .overrideByName('red', dashed('red'))
          .height(9)
          .span(24),
      )
      .withPanel(
        new table.PanelBuilder()
          .title('Wells now: level, band, trend and projected time to the next line')
          .description(
            'Trends in cm/day (least squares over 24 h and 7 days); hours to the next line at the 24 h trend (empty: not falling).',
          )
          .withTarget(
            influx(
              wells()
                .agg('last', 'level', 'level (m)')
                .agg('last', 'nextLineM', 'next line (m)')
                .agg('last', 'trend24h', 'trend 24 h (cm/day)')
                .agg('last', 'trend7d', 'trend 7 d (cm/day)')
                .agg('last', 'hoursToNextLine', 'hours to next line')
                .groupBy('well', 'springGroup', 'district'),
              { table: true },
            ),
          )
          .withTransformation({ id: 'organize', options: { excludeByName: { Time: true } } })
          .height(9)
          .span(24),
      )
      .withPanel(
        new timeseries.PanelBuilder()
          .title('24 h trend by well (cm/day)')
          .withTarget(influx(wells().agg('mean', 'trend24h', 'trend').groupByTime().groupBy('well'), { alias: '$tag_well' }))
          .unit('none')
          .thresholds(thresholds('red', [-5, 'transparent']))
          .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed))
          .height(8)
          .span(12),
      )
      .withPanel(
        new bargauge.PanelBuilder()
          .title('Projected hours to the next line')
          .description('At the current 24 h trend; wells that are not falling have none.')
          .withTarget(influx(wells().agg('last', 'hoursToNextLine', 'hours').groupBy('well'), { alias: '$tag_well' }))
          .unit('h')
          .thresholds(thresholds('red', [24, 'orange'], [72, 'green']))
          .colorScheme(byThresholds())
          .reduceOptions(lastValue())
          .orientation(common.VizOrientation.Horizontal)
          .height(8)
          .span(12),
      )
      .withPanel(
        new timeseries.PanelBuilder()
          .title('Raw readings per node (water table, m)')
          .withTarget(
            influx(
              select('groundwater_reading').agg('mean', 'waterTableM', 'water table').matches('well', 'well').groupByTime().groupBy('node'),
              { alias: '$tag_node' },
            ),
          )
          .unit('lengthm')
          .decimals(2)
          .height(8)
          .span(24),
      ),
  );
}
