import * as bargauge from '@grafana/grafana-foundation-sdk/bargauge';
import * as common from '@grafana/grafana-foundation-sdk/common';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import { GROUNDWATER_MEASUREMENTS } from '../../core/kinds/groundwater/points.js';
import { NOISE_MEASUREMENTS } from '../../core/kinds/noise/points.js';
import { PARKING_MEASUREMENTS } from '../../core/kinds/parking/points.js';
import { LIGHTING_MEASUREMENTS } from '../../core/kinds/streetlight/points.js';
import { PIPELINE_MEASUREMENTS } from '../../processors/sinks/influxdb/points.js';
import { selector } from '../influxql.js';

import {
  alertAnnotations,
  allValues,
  ANNOTATION_TAG,
  byThresholds,
  cityDashboard,
  finish,
  influx,
  lastValue,
  percentOfTarget,
  targetThresholds,
  thresholds,
} from '../common.js';

// The city at a glance picks one headline per built-in kind by hand: an editorial board, not a per-kind one.
const { select } = selector({
  ...LIGHTING_MEASUREMENTS,
  ...GROUNDWATER_MEASUREMENTS,
  ...NOISE_MEASUREMENTS,
  ...PARKING_MEASUREMENTS,
  ...PIPELINE_MEASUREMENTS,
});

/** A percentage KPI stat against its plan target. */
function kpi(title: string, description: string, target: number, query: Parameters<typeof influx>[0]) {
  return percentOfTarget(new stat.PanelBuilder().title(title).description(description).withTarget(influx(query)), target)
    .colorMode(common.BigValueColorMode.Background)
    .graphMode(common.BigValueGraphMode.Area)
    .height(5)
    .span(6);
}

/**
 * The plan's KPI board: each KPI of the action plan against its target, coloured by compliance
 * (green at or above the target, orange within 2 points under it, red below).
 */
export function overviewDashboard(): dashboard.Dashboard {
  const city = () => select('lighting').where('scope', 'city');
  return finish(
    cityDashboard(
      'citybrain-overview',
      'City Brain: City overview',
      "The action plan's KPI board: every KPI against its plan target, coloured by compliance.",
      ['overview'],
    )
      .annotation(alertAnnotations('City Brain alerts', [ANNOTATION_TAG], 'red'))
      .withPanel(
        new bargauge.PanelBuilder()
          .title('Lighting rate by road class (target 99 % expressway/main/secondary, 95 % branch/alley)')
          .description(
            'Lamps lit / lamps that should be lit, last evaluation, per road class; each bar coloured against its own plan target.',
          )
          .withTarget(
            influx(select('lighting').agg('last', 'rate', 'rate', { times: 100 }).where('scope', 'roadClass').groupBy('name'), {
              alias: '$tag_name',
            }),
          )
          .unit('percent')
          .decimals(1)
          .min(80)
          .max(100)
          .thresholds(targetThresholds(99))
          .colorScheme(byThresholds())
          .overrideByRegexp('^(branch|alley)$', [{ id: 'thresholds', value: targetThresholds(95).build() }])
          .reduceOptions(lastValue())
          .displayMode(common.BarGaugeDisplayMode.Lcd)
          .orientation(common.VizOrientation.Horizontal)
          .height(8)
          .span(12),
      )
      .withPanel(
        kpi('Lighting rate, city', 'All lamps scheduled on: lit / expected.', 99, city().agg('last', 'rate', 'rate', { times: 100 }))
          .height(8)
          .span(4),
      )
      .withPanel(
        kpi(
          'Installation rate (target 100 %)',
          'Installed lamp positions / designed positions (plan items 4, 32).',
          100,
          city().agg('last', 'installationRate', 'installation', { times: 100 }),
        )
          .height(4)
          .span(4),
      )
      .withPanel(
        kpi(
          'Facility intact rate (target 95 %)',
          'Facilities without an open fault / all facilities.',
          95,
          city().agg('last', 'intactRate', 'intact', { times: 100 }),
        )
          .height(4)
          .span(4),
      )
      .withPanel(
        new stat.PanelBuilder()
          .title('Connected city neuron nodes (target 500,000)')
          .description('Registered nodes and how many are online (plan item 17).')
          .withTarget(influx(select('nodes').agg('last', 'total', 'registered').agg('last', 'online', 'online').where('scope', 'city')))
          .thresholds(thresholds('orange', [500_000, 'green']))
          .colorScheme(byThresholds())
          .reduceOptions(lastValue())
          .unit('short')
          .height(4)
          .span(6),
      )
      .withPanel(
        new stat.PanelBuilder()
          .title('Online ratio')
          .withTarget(influx(select('nodes').agg('last', 'ratio', 'online', { times: 100 }).where('scope', 'city')))
          .unit('percent')
          .decimals(1)
          .thresholds(thresholds('red', [90, 'orange'], [98, 'green']))
          .colorScheme(byThresholds())
          .reduceOptions(lastValue())
          .height(4)
          .span(6),
      )
      .withPanel(
        new stat.PanelBuilder()
          .title('Parking: spaces managed, occupancy, free')
          .description('Static-traffic resources on the platform (plan item 25).')
          .withTarget(
            influx(
              select('parking')
                .agg('last', 'spaces', 'spaces')
                .agg('last', 'occupancy', 'occupancy %', { times: 100 })
                .agg('last', 'free', 'free')
                .where('scope', 'city'),
            ),
          )
          .reduceOptions(lastValue())
          .colorScheme(byThresholds())
          .thresholds(thresholds('blue'))
          .height(4)
          .span(12),
      )
      .withPanel(
        new bargauge.PanelBuilder()
          .title('Spring levels against the yellow line (m)')
          .description('Filtered level of each well minus its yellow warning line: below 0 the well is in a warning band (plan item 27).')
          .withTarget(
            influx(select('groundwater_well').agg('last', 'level', 'level').agg('last', 'yellow', 'yellow').groupBy('well'), {
              table: true,
            }),
          )
          .withTransformation({
            id: 'calculateField',
            options: {
              mode: 'binary',
              binary: { left: 'level', operator: '-', right: 'yellow' },
              alias: 'above yellow',
              replaceFields: false,
            },
          })
          .unit('lengthm')
          .decimals(2)
          .thresholds(thresholds('red', [-0.15, 'orange'], [0, 'green']))
          .colorScheme(byThresholds())
          .reduceOptions(allValues().fields('/^above yellow$/'))
          .orientation(common.VizOrientation.Horizontal)
          .height(8)
          .span(12),
      )
      .withPanel(
        new bargauge.PanelBuilder()
          .title('Noise: last judged hour, Leq minus zone limit (dB)')
          .description('GB 3096-2008: above 0 the station exceeded its zone class limit for that hour.')
          .withTarget(
            influx(select('noise_station').agg('last', 'leq', 'leq').agg('last', 'limit', 'limit').groupBy('station'), { table: true }),
          )
          .withTransformation({
            id: 'calculateField',
            options: { mode: 'binary', binary: { left: 'leq', operator: '-', right: 'limit' }, alias: 'over limit', replaceFields: false },
          })
          .unit('dB')
          .decimals(1)
          .thresholds(thresholds('green', [0, 'red']))
          .colorScheme(byThresholds())
          .reduceOptions(allValues().fields('/^over limit$/'))
          .orientation(common.VizOrientation.Horizontal)
          .height(8)
          .span(12),
      )
      .withPanel(
        new table.PanelBuilder()
          .title('Alert changes in the time range, by alert name and state')
          .withTarget(influx(select('alerts').agg('count', 'id', 'changes').groupBy('alertname', 'state'), { table: true }))
          .withTransformation({ id: 'organize', options: { excludeByName: { Time: true } } })
          .height(8)
          .span(24),
      ),
  );
}
