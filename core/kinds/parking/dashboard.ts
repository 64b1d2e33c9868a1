import * as bargauge from '@grafana/grafana-foundation-sdk/bargauge';
import * as common from '@grafana/grafana-foundation-sdk/common';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as geomap from '@grafana/grafana-foundation-sdk/geomap';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { selector } from '../../../dashboards/influxql.js';
import { PIPELINE_MEASUREMENTS } from '../../../processors/sinks/influxdb/points.js';
import { PARKING_MEASUREMENTS } from './points.js';
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
import { cityMap, markers } from '../../../dashboards/boards/maps.js';

const { select, tagValues } = selector({ ...PARKING_MEASUREMENTS, ...PIPELINE_MEASUREMENTS });

/** Occupancy colours: the lot states' default thresholds (nearly full 90 %, full 95 %). */
const occupancyThresholds = () => thresholds('green', [90, 'orange'], [95, 'red']);

export function parkingDashboard(): dashboard.Dashboard {
  const districts = () => select('parking').where('scope', 'district').matches('name', 'district');
  const lots = () => select('parking').where('scope', 'lot').matches('district', 'district');
  const city = () => select('parking').where('scope', 'city');
  return finish(
    cityDashboard(
      'citybrain-parking',
      'City Brain: Parking',
      'Occupancy and free spaces by lot and district, a map of the lots, turnover and dwell time.',
      ['parking'],
    )
      .withVariable(queryVariable('district', 'District', tagValues('parking', 'name', { tag: 'scope', value: 'district' })))
      .annotation(alertAnnotations('Parking alerts', [ANNOTATION_TAG, 'parking'], 'blue'))
      .withPanel(
        new stat.PanelBuilder()
          .title('City: occupancy, free spaces, lots full / nearly full')
          .withTarget(
            influx(
              city()
                .agg('last', 'occupancy', 'occupancy', { times: 100 })
                .agg('last', 'free', 'free')
                .agg('last', 'unknown', 'unknown')
                .agg('last', 'full', 'lots full')
                .agg('last', 'nearlyFull', 'lots nearly full'),
            ),
          )
          .reduceOptions(lastValue())
          .overrideByName('occupancy', [
            { id: 'unit', value: 'percent' },
            { id: 'thresholds', value: occupancyThresholds().build() },
            { id: 'color', value: { mode: 'thresholds' } },
          ])
          .colorScheme(byThresholds())
          .thresholds(thresholds('blue'))
          .height(4)
          .span(16),
      )
      .withPanel(
        new stat.PanelBuilder()
          .title('City: turnover and mean dwell')
          .description('Turnover = parking sessions / spaces in the period; mean dwell = parked time / sessions.')
          .withTarget(
            influx(
              city()
                .agg('last', 'sessions', 'sessions')
                .agg('last', 'turnover', 'turnover')
                .agg('last', 'meanDwellMin', 'mean dwell (min)'),
            ),
          )
          .reduceOptions(lastValue())
          .colorScheme(byThresholds())
          .thresholds(thresholds('blue'))
          .height(4)
          .span(8),
      )
      .withPanel(
        new timeseries.PanelBuilder()
          .title('Occupancy by district')
          .withTarget(
            influx(districts().agg('mean', 'occupancy', 'occupancy', { times: 100 }).groupByTime().groupBy('name'), { alias: '$tag_name' }),
          )
          .unit('percent')
          .min(0)
          .max(100)
          .thresholds(occupancyThresholds())
          .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed))
          .height(8)
          .span(12),
      )
      .withPanel(
        new timeseries.PanelBuilder()
          .title('Free spaces by district')
          .withTarget(influx(districts().agg('mean', 'free', 'free').groupByTime().groupBy('name'), { alias: '$tag_name' }))
          .height(8)
          .span(12),
      )
      .withPanel(
        new geomap.PanelBuilder()
          .title('Lots: occupancy now')
          .description('Each lot at the centre of its detectors, coloured by occupancy (green, orange from 90 %, red from 95 %).')
          .withTarget(
            influx(
              lots()
                .agg('last', 'lat', 'lat')
                .agg('last', 'lon', 'lon')
                .agg('last', 'occupancy', 'occupancy', { times: 100 })
                .agg('last', 'free', 'free')
                .agg('last', 'lotName', 'lot')
                .groupBy('name', 'district'),
              {
                table: true,
              },
            ),
          )
          .view(cityMap())
          .basemap(new common.MapLayerOptionsBuilder().type('default').name('Basemap'))
          .layers([markers('Lots', 'green', 'occupancy')])
          .thresholds(occupancyThresholds())
          .colorScheme(byThresholds())
          .tooltip(new geomap.TooltipOptionsBuilder().mode(geomap.TooltipMode.Details))
          .height(12)
          .span(12),
      )
      .withPanel(
        new bargauge.PanelBuilder()
          .title('Occupancy by lot')
          .withTarget(influx(lots().agg('last', 'occupancy', 'occupancy', { times: 100 }).groupBy('name'), { alias: '$tag_name' }))
          .unit('percent')
          .min(0)
          .max(100)
          .thresholds(occupancyThresholds())
          .colorScheme(byThresholds())
          .reduceOptions(lastValue())
          .orientation(common.VizOrientation.Horizontal)
          .height(12)
          .span(12),
      )
      .withPanel(
        new table.PanelBuilder()
          .title('Lots: spaces, free, turnover and dwell')
          .withTarget(
            influx(
              lots()
                .agg('last', 'lotName', 'lot')
                .agg('last', 'spaces', 'spaces')
                .agg('last', 'occupied', 'occupied')
                .agg('last', 'free', 'free')
                .agg('last', 'unknown', 'unknown')
                .agg('last', 'state', 'state')
                .agg('last', 'sessions', 'sessions')
                .agg('last', 'turnover', 'turnover')
                .agg('last', 'meanDwellMin', 'mean dwell (min)')
                .groupBy('name', 'district'),
              { table: true },
            ),
          )
          .withTransformation({ id: 'organize', options: { excludeByName: { Time: true } } })
          .height(10)
          .span(24),
      )
      .withPanel(
        new timeseries.PanelBuilder()
          .title('Turnover by district')
          .withTarget(influx(districts().agg('mean', 'turnover', 'turnover').groupByTime().groupBy('name'), { alias: '$tag_name' }))
          .height(8)
          .span(12),
      )
      .withPanel(
        new timeseries.PanelBuilder()
          .title('Mean dwell by district (min)')
          .withTarget(influx(districts().agg('mean', 'meanDwellMin', 'dwell').groupByTime().groupBy('name'), { alias: '$tag_name' }))
          .unit('m')
          .height(8)
          .span(12),
      ),
  );
}
