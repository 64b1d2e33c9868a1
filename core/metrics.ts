import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from '@prometheus-io/client';
import { withDefaults } from './defaults.js';

/** The metrics' defaults. */
export const PIPELINE_METRICS_DEFAULTS = {
  defaultMetrics: true,
};

/**
 * The pipeline's Prometheus metrics. The names are a contract (dashboards and alert rules query
 * them), so they are defined here once and every stage increments the same objects.
 */
export class PipelineMetrics {
  readonly registry = new Registry();
  readonly accepted = new Counter({
    name: 'citybrain_readings_accepted_total',
    help: 'Readings accepted by ingest and appended to the log',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly rejected = new Counter({
    name: 'citybrain_readings_rejected_total',
    help: 'Messages rejected to the dead-letter topic, by reason',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly processed = new Counter({
    name: 'citybrain_readings_processed_total',
    help: 'Readings applied by the processors',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly alertsFiring = new Gauge({
    name: 'citybrain_alerts_firing',
    help: 'Alerts currently firing or acknowledged, by alert name',
    labelNames: ['alertname'],
    registers: [this.registry],
  });
  readonly aggregating = new Gauge({
    name: 'citybrain_aggregator_leader',
    help: 'On Kafka, 1 on the api instance that aggregates KPIs and the alert lifecycle, 0 on the others',
    registers: [this.registry],
  });
  readonly registryNodes = new Gauge({
    name: 'citybrain_registry_nodes',
    help: "Nodes in service in this process's registry (rebuilt from the registry topic, kept current by its changes), by kind",
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly consumerLag = new Gauge({
    name: 'citybrain_consumer_lag',
    help: 'Records not yet processed, by topic',
    labelNames: ['topic'],
    registers: [this.registry],
  });
  readonly appendSeconds = new Histogram({
    name: 'citybrain_ingest_append_seconds',
    help: 'Time from MQTT publish received to the log holding it',
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly ingestInflight = new Gauge({
    name: 'citybrain_ingest_inflight',
    help: 'MQTT publishes waiting for the log to hold them',
    registers: [this.registry],
  });
  readonly ingestRefused = new Counter({
    name: 'citybrain_ingest_refused_total',
    help: 'Publishes refused unacknowledged because the log could not take them (full buffer or append failed); devices resend them',
    labelNames: ['cause'],
    registers: [this.registry],
  });
  readonly retainedCleared = new Counter({
    name: 'citybrain_mqtt_retained_cleared_total',
    help: "Empty retained publishes that cleared a topic's retained message (no reading)",
    registers: [this.registry],
  });
  readonly mqttSessionsExpired = new Counter({
    name: 'citybrain_mqtt_sessions_expired_total',
    help: 'MQTT 5 sessions ended by their Session Expiry Interval while their client was away (subscriptions and queue dropped)',
    registers: [this.registry],
  });
  readonly mqttClients = new Gauge({ name: 'citybrain_mqtt_clients', help: 'Connected MQTT clients', registers: [this.registry] });
  /** One counter for every abuse limit, labelled with the setting that bit (e.g. MAX_BATCH_ENTRIES, MQTT_AUTH_QUEUE_MAX). */
  readonly limitHits = new Counter({
    name: 'citybrain_limit_hits_total',
    help: 'Times a configured limit refused or cut something, by the setting that bit',
    labelNames: ['limit'],
    registers: [this.registry],
  });
  readonly streamClients = new Gauge({
    name: 'citybrain_stream_clients',
    help: 'Open live streams (/api/v1/stream)',
    registers: [this.registry],
  });
  readonly mqttForwardRefused = new Counter({
    name: 'citybrain_mqtt_forward_refused_total',
    help: 'Messages not delivered to a subscriber because it may not receive them now (credentials revoked, topic not its own), by cause',
    labelNames: ['cause'],
    registers: [this.registry],
  });
  readonly metricsWrittenBytes = new Counter({
    name: 'citybrain_metrics_written_bytes_total',
    help: 'Bytes (key and value) of the KPI records the aggregator wrote to the metrics.* topics, by topic: what their retention has to hold',
    labelNames: ['topic'],
    registers: [this.registry],
  });
  readonly metricsWrittenRecords = new Counter({
    name: 'citybrain_metrics_written_records_total',
    help: 'KPI records the aggregator wrote to the metrics.* topics, by topic',
    labelNames: ['topic'],
    registers: [this.registry],
  });
  // InfluxDB sink (processors/sinks/influxdb).
  readonly sinkPointsWritten = new Counter({
    name: 'citybrain_sink_points_written_total',
    help: 'Points InfluxDB accepted from the sink, by measurement (a redelivered batch counts again)',
    labelNames: ['measurement'],
    registers: [this.registry],
  });
  readonly sinkWriteErrors = new Counter({
    name: 'citybrain_sink_write_errors_total',
    help: 'Failed InfluxDB write attempts (each is retried; `rejected` = InfluxDB refused the points as invalid, they are dropped and logged)',
    labelNames: ['cause'],
    registers: [this.registry],
  });
  readonly sinkPointsRejected = new Counter({
    name: 'citybrain_sink_points_rejected_total',
    help: 'Points InfluxDB refused as invalid (HTTP 400, e.g. a field type conflict), dropped after an error log, by measurement',
    labelNames: ['measurement'],
    registers: [this.registry],
  });
  readonly sinkRecordsSkipped = new Counter({
    name: 'citybrain_sink_records_skipped_total',
    help: 'Log records (or KPI rows) the sink could not read and skipped, by topic',
    labelNames: ['topic'],
    registers: [this.registry],
  });
  // Alertmanager notifier (processors/sinks/alertmanager).
  readonly notifierSent = new Counter({
    name: 'citybrain_notifier_sent_total',
    help: 'Alerts Alertmanager accepted from the notifier (re-sends count again), by alert state',
    labelNames: ['state'],
    registers: [this.registry],
  });
  readonly notifierErrors = new Counter({
    name: 'citybrain_notifier_errors_total',
    help: 'Failed posts to Alertmanager (each is retried with backoff; `rejected` = Alertmanager refused an alert as invalid, it is dropped and logged)',
    labelNames: ['cause'],
    registers: [this.registry],
  });
  // The file log (core/stream/file).
  readonly logAppendFailed = new Counter({
    name: 'citybrain_log_append_failed_total',
    help: 'Appends the file log could not write (nothing of them kept; the publishes are refused unacknowledged and resent), by error code (ENOSPC: disk full)',
    labelNames: ['code'],
    registers: [this.registry],
  });
  readonly logRecoveryDropped = new Counter({
    name: 'citybrain_log_recovery_dropped_bytes_total',
    help: 'Bytes cut off damaged segment files at start, by reason (torn: the file ended inside a record; checksum: a record did not match its checksum, dropped with the rest of its segment)',
    labelNames: ['reason'],
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (withDefaults(PIPELINE_METRICS_DEFAULTS, options).defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }
}
