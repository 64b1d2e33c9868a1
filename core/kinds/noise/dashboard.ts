import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { NIGHT_PEAK_ALLOWANCE_DB } from './spec.js';
import { selector } from '../../../dashboards/influxql.js';
import { PIPELINE_MEASUREMENTS } from '../../../processors/sinks/influxdb/points.js';
import { NOISE_MEASUREMENTS } from './points.js';
import { alertAnnotations, ANNOTATION_TAG, cityDashboard, finish, influx, queryVariable } from '../../../dashboards/common.js';

const { select, tagValues } = selector({ ...NOISE_MEASUREMENTS, ...PIPELINE_MEASUREMENTS });

const yesNo: dashboard.ValueMapping = {
  type: dashboard.MappingType.ValueToText,
  options: { true: { text: 'yes', color: 'red', index: 0 }, false: { text: 'no', color: 'green', index: 1 } },
};
const complete: dashboard.ValueMapping = {
  type: dashboard.MappingType.ValueToText,
  options: { true: { text: 'complete', color: 'green', index: 0 }, false: { text: 'incomplete', color: 'orange', index: 1 } },
};

export function noiseDashboard(): dashboard.Dashboard {
  const stations = <M extends 'noise_station' | 'noise_day' | 'noise_reading'>(m: M) => select(m).matches('station', 'station');
  return finish(
    cityDashboard(
      'citybrain-noise',
      'City Brain: Noise',
      'GB 3096-2008: hourly Leq against the zone limit, day/night Ld and Ln compliance per station, night peaks.',
      ['noise'],
    )
      .time({ from: 'now-2d', to: 'now' })
      .withVariable(queryVariable('station', 'Station', tagValues('noise_station', 'station')))
      .annotation(alertAnnotations('Noise alerts', [ANNOTATION_TAG, 'noise'], 'purple'))
      .withPanel(
        new timeseries.PanelBuilder()
          .title('$station: hourly Leq against the zone limit')
          .description(
            'Energy-average Leq of each judged hour (points at the hour start) and the limit of its period (day 06-22, night 22-06).',
          )
          .repeat('station')
          .repeatDirection('h')
          .maxPerRow(3)
          .withTarget(influx(stations('noise_station').agg('max', 'leq', 'Leq').agg('max', 'limit', 'limit').groupByTime('1h')))
          .unit('dB')
          .drawStyle(common.GraphDrawStyle.Bars)
          .fillOpacity(60)
          .overrideByName('limit', [
            { id: 'custom.drawStyle', value: 'line' },
            { id: 'custom.lineInterpolation', value: 'stepAfter' },
            { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } },
            { id: 'custom.fillOpacity', value: 0 },
          ])
          .height(8)
          .span(24),
      )
      .withPanel(
        new table.PanelBuilder()
          .title('Day and night compliance per station (Ld / Ln)')
          .description(
            'Ld over the 16 day hours, Ln over the 8 night hours of each local day, with the valid-data rate; a day with too few samples is incomplete, never compliant.',
          )
          .withTarget(
            influx(
              stations('noise_day')
                .field('ld', 'Ld')
                .field('ldLimit', 'day limit')
                .field('ldValidRate', 'day valid rate')
                .field('ldComplete', 'day complete')
                .field('ldExceeds', 'day exceeds')
                .field('ln', 'Ln')
                .field('lnLimit', 'night limit')
                .field('lnValidRate', 'night valid rate')
                .field('lnComplete', 'night complete')
                .field('lnExceeds', 'night exceeds')
                .tag('station')
                .tag('zoneClass')
                .orderByTimeDesc(),
              { table: true },
            ),
          )
          .overrideByRegexp('exceeds$', [
            { id: 'mappings', value: [yesNo] },
            { id: 'custom.cellOptions', value: { type: 'color-text' } },
          ])
          .overrideByRegexp('complete$', [
            { id: 'mappings', value: [complete] },
            { id: 'custom.cellOptions', value: { type: 'color-text' } },
          ])
          .overrideByRegexp('valid rate$', [{ id: 'unit', value: 'percentunit' }])
          .overrideByRegexp('^(Ld|Ln|day limit|night limit)$', [
            { id: 'unit', value: 'dB' },
            { id: 'decimals', value: 1 },
          ])
          .height(9)
          .span(24),
      )
      .withPanel(
        new timeseries.PanelBuilder()
          .title(`Night peaks: LAmax against the night limit + ${NIGHT_PEAK_ALLOWANCE_DB} dB`)
          .description(
            `Highest minute LAmax of each interval at night (22-06); sudden noise may exceed the night limit by at most ${NIGHT_PEAK_ALLOWANCE_DB} dB(A).`,
          )
          .withTarget(
            influx(stations('noise_reading').agg('max', 'lamax', 'LAmax').where('period', 'night').groupByTime().groupBy('station'), {
              alias: '$tag_station',
            }),
          )
          .withTarget(
            influx(
              stations('noise_station')
                .agg('max', 'limit', 'peak limit', { plus: NIGHT_PEAK_ALLOWANCE_DB })
                .where('period', 'night')
                .groupBy('station'),
              { alias: 'peak limit $tag_station', refId: 'B' },
            ),
          )
          .overrideByRegexp('^peak limit', [
            { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
            { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } },
          ])
          .unit('dB')
          .drawStyle(common.GraphDrawStyle.Points)
          .height(9)
          .span(12),
      )
      .withPanel(
        new timeseries.PanelBuilder()
          .title('Minute LAeq with L10 and L90')
          .withTarget(
            influx(
              stations('noise_reading')
                .agg('mean', 'laeq', 'LAeq')
                .agg('mean', 'l10', 'L10')
                .agg('mean', 'l90', 'L90')
                .groupByTime()
                .groupBy('station'),
              { alias: '$tag_station $col' },
            ),
          )
          .unit('dB')
          .height(9)
          .span(12),
      )
      .withPanel(
        new table.PanelBuilder()
          .title('Judged hours over their limit')
          .withTarget(
            influx(
              stations('noise_station')
                .field('leq', 'Leq')
                .field('limit', 'limit')
                .field('coverage', 'coverage')
                .tag('station')
                .tag('period')
                .fieldIs('exceeds', '=', true)
                .orderByTimeDesc()
                .limit(200),
              { table: true },
            ),
          )
          .overrideByName('coverage', [{ id: 'unit', value: 'percentunit' }])
          .height(8)
          .span(24),
      ),
  );
}
