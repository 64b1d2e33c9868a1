import * as common from '@grafana/grafana-foundation-sdk/common';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { PIPELINE_MEASUREMENTS } from '../../processors/sinks/influxdb/points.js';
import { selector } from '../influxql.js';

import { alertAnnotations, ANNOTATION_TAG, byThresholds, cityDashboard, finish, influx, lastValue, thresholds } from '../common.js';

const { select } = selector(PIPELINE_MEASUREMENTS);

const ratioThresholds = () => thresholds('red', [90, 'orange'], [98, 'green']);

export function nodesDashboard(): dashboard.Dashboard {
  const city = () => select('nodes').where('scope', 'city');
  return finish(
    cityDashboard(
      'citybrain-nodes',
      'City Brain: Node health',
      'Online ratio by kind and district, where nodes are offline, and batteries.',
      ['nodes'],
    )
      .annotation(alertAnnotations('All City Brain alerts', [ANNOTATION_TAG], 'red'))
      .withPanel(
        new stat.PanelBuilder()
          .title('Nodes: registered, online, offline, never seen, battery low')
          .withTarget(
            influx(
              city()
                .agg('last', 'total', 'registered')
                .agg('last', 'online', 'online')
                .agg('last', 'offline', 'offline')
                .agg('last', 'neverSeen', 'never seen')
                .agg('last', 'batteryLow', 'battery low'),
            ),
          )
          .reduceOptions(lastValue())
          .colorScheme(byThresholds())
          .thresholds(thresholds('blue'))
          .height(4)
          .span(18),
      )
      .withPanel(
        new stat.PanelBuilder()
          .title('Online ratio, city')
          .withTarget(influx(city().agg('last', 'ratio', 'online', { times: 100 })))
          .unit('percent')
          .decimals(1)
          .thresholds(ratioThresholds())
          .colorScheme(byThresholds())
          .reduceOptions(lastValue())
          .colorMode(common.BigValueColorMode.Background)
          .height(4)
          .span(6),
      )
      .withPanel(
        new timeseries.PanelBuilder()
          .title('Online ratio by kind')
          .withTarget(
            influx(select('nodes').agg('mean', 'ratio', 'ratio', { times: 100 }).where('scope', 'kind').groupByTime().groupBy('name'), {
              alias: '$tag_name',
            }),
          )
          .unit('percent')
          .max(100)
          .thresholds(ratioThresholds())
          .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed))
          .height(8)
          .span(12),
      )
      .withPanel(
        new timeseries.PanelBuilder()
          .title('Online ratio by district')
          .withTarget(
            influx(select('nodes').agg('mean', 'ratio', 'ratio', { times: 100 }).where('scope', 'district').groupByTime().groupBy('name'), {
              alias: '$tag_name',
            }),
          )
          .unit('percent')
          .max(100)
          .height(8)
          .span(12),
      )
      .withPanel(
        new table.PanelBuilder()
          .title('Offline nodes by kind and district (now)')
          .description(
            'Per kind and per district: registered, online and offline nodes at the last evaluation; sorted by offline. Single nodes: the API (`GET /api/v1/nodes?status=offline`).',
          )
          .withTarget(
            influx(
              select('nodes')
                .agg('last', 'offline', 'offline')
                .agg('last', 'online', 'online')
                .agg('last', 'total', 'registered')
                .agg('last', 'ratio', 'ratio')
                .whereNot('scope', 'city')
                .groupBy('scope', 'name'),
              { table: true },
            ),
          )
          .withTransformation({ id: 'organize', options: { excludeByName: { Time: true } } })
          .sortBy([new common.TableSortByFieldStateBuilder().displayName('offline').desc(true)])
          .overrideByName('ratio', [{ id: 'unit', value: 'percentunit' }])
          .height(10)
          .span(12),
      )
      .withPanel(
        new table.PanelBuilder()
          .title('Node alerts (offline groups, low batteries, rejected data)')
          .withTarget(
            influx(
              select('alerts')
                .field('subject')
                .field('summary')
                .tag('alertname')
                .tag('state')
                .tag('district')
                .tag('kind')
                .whereIn('alertname', ['NodeOffline', 'NodeBatteryLow', 'DataRejectedSurge'])
                .orderByTimeDesc()
                .limit(200),
              {
                table: true,
              },
            ),
          )
          .height(10)
          .span(12),
      )
      .withPanel(
        new timeseries.PanelBuilder()
          .title('Offline and low-battery nodes, city')
          .withTarget(
            influx(
              city()
                .agg('max', 'offline', 'offline')
                .agg('max', 'batteryLow', 'battery low')
                .agg('max', 'neverSeen', 'never seen')
                .groupByTime(),
            ),
          )
          .height(8)
          .span(24),
      ),
  );
}
