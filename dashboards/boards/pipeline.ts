import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { alertAnnotations, ANNOTATION_TAG, byThresholds, cityDashboard, finish, lastValue, metric, prom, thresholds } from '../common.js';

/** Rate over Grafana's rate interval (at least 4 scrapes). */
const rate = (name: string, by: string) => `sum by (${by}) (rate(${name}[$__rate_interval]))`;

/** The pipeline's own health from its Prometheus metrics (`GET /metrics` of every stage process). */
export function pipelineDashboard(): dashboard.Dashboard {
  const series = (title: string, expr: string, legend: string, unit = 'short') =>
    new timeseries.PanelBuilder().title(title).withTarget(prom(expr, legend)).unit(unit).height(8).span(12);
  return finish(
    cityDashboard(
      'citybrain-pipeline',
      'City Brain: Pipeline health',
      "Ingest rate, rejections by reason, consumer lag, sink and notifier errors (Prometheus, from the pipeline's /metrics).",
      ['pipeline'],
    )
      .time({ from: 'now-1h', to: 'now' })
      // DataRejectedSurge carries kind `pipeline`.
      .annotation(alertAnnotations('Pipeline alerts', [ANNOTATION_TAG, 'pipeline'], 'red'))
      .withPanel(
        new stat.PanelBuilder()
          .title('Readings accepted per second')
          .withTarget(prom(`sum(rate(${metric('accepted')}[$__rate_interval]))`, 'accepted'))
          .unit('reqps')
          .reduceOptions(lastValue())
          .colorScheme(byThresholds())
          .thresholds(thresholds('green'))
          .height(4)
          .span(6),
      )
      .withPanel(
        new stat.PanelBuilder()
          .title('Rejected per second')
          .withTarget(prom(`sum(rate(${metric('rejected')}[$__rate_interval]))`, 'rejected'))
          .unit('reqps')
          .reduceOptions(lastValue())
          .colorScheme(byThresholds())
          .thresholds(thresholds('green', [1, 'orange'], [10, 'red']))
          .height(4)
          .span(6),
      )
      .withPanel(
        new stat.PanelBuilder()
          .title('Alerts firing')
          .withTarget(prom(`sum(${metric('alertsFiring')})`, 'firing'))
          .reduceOptions(lastValue())
          .colorScheme(byThresholds())
          .thresholds(thresholds('green', [1, 'orange']))
          .height(4)
          .span(6),
      )
      .withPanel(
        new stat.PanelBuilder()
          .title('Consumer lag (records)')
          .withTarget(prom(`sum(${metric('consumerLag')})`, 'lag'))
          .reduceOptions(lastValue())
          .colorScheme(byThresholds())
          .thresholds(thresholds('green', [1000, 'orange'], [100_000, 'red']))
          .height(4)
          .span(6),
      )
      .withPanel(series('Ingest rate by kind', rate(metric('accepted'), 'kind'), '{{kind}}', 'reqps'))
      .withPanel(series('Processed rate by kind', rate(metric('processed'), 'kind'), '{{kind}}', 'reqps'))
      .withPanel(series('Rejections by reason', rate(metric('rejected'), 'reason'), '{{reason}}', 'reqps'))
      .withPanel(series('Consumer lag by topic', `sum by (topic) (${metric('consumerLag')})`, '{{topic}}'))
      .withPanel(
        series(
          'Log append latency (p50 / p99)',
          `histogram_quantile(0.99, sum by (le) (rate(${metric('appendSeconds')}_bucket[$__rate_interval])))`,
          'p99',
          's',
        ).withTarget(prom(`histogram_quantile(0.5, sum by (le) (rate(${metric('appendSeconds')}_bucket[$__rate_interval])))`, 'p50', 'B')),
      )
      .withPanel(
        series('Ingest back-pressure: in flight and refused', metric('ingestInflight'), 'in flight')
          .withTarget(prom(rate(metric('ingestRefused'), 'cause'), 'refused {{cause}}', 'B'))
          .withTarget(prom(metric('mqttClients'), 'MQTT clients', 'C')),
      )
      .withPanel(
        series('InfluxDB points written by measurement', rate(metric('sinkPointsWritten'), 'measurement'), '{{measurement}}', 'reqps'),
      )
      .withPanel(
        series('Sink and notifier errors', rate(metric('sinkWriteErrors'), 'cause'), 'InfluxDB write {{cause}}', 'reqps')
          .withTarget(prom(rate(metric('sinkPointsRejected'), 'measurement'), 'InfluxDB rejected {{measurement}}', 'B'))
          .withTarget(prom(rate(metric('sinkRecordsSkipped'), 'topic'), 'skipped {{topic}}', 'C'))
          .withTarget(prom(rate(metric('notifierErrors'), 'cause'), 'Alertmanager {{cause}}', 'D')),
      )
      .withPanel(series('Alerts firing by name', `sum by (alertname) (${metric('alertsFiring')})`, '{{alertname}}'))
      .withPanel(series('Alerts delivered to Alertmanager', rate(metric('notifierSent'), 'state'), '{{state}}', 'reqps'))
      .withPanel(
        series('Process: resident memory and CPU', 'process_resident_memory_bytes', 'memory {{instance}}', 'bytes').withTarget(
          prom('rate(process_cpu_seconds_total[$__rate_interval])', 'CPU {{instance}}', 'B'),
        ),
      )
      .withPanel(series('Event loop lag (p99)', 'nodejs_eventloop_lag_p99_seconds', '{{instance}}', 's')),
  );
}
