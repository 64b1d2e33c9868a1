import type { Counter, Gauge } from '@prometheus-io/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCity } from '../core/index.js';
import { defaultKinds } from '../core/kinds/modules.js';
import { testNow } from '../test/clock.js';
import { testConfig } from '../test/helpers.js';
import { startPipeline, type RunningPipeline } from './pipeline.js';

type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary';

/**
 * The exposition is a contract: dashboards (`dashboards/boards/pipeline.ts`) and alert rules query
 * these names, so a renamed metric, a changed type or label set must fail here. Captured from
 * `city-brain demo`'s /metrics on prom-client 15 before the switch to @prometheus-io/client.
 */
const PIPELINE: Record<string, [MetricType, string[]]> = {
  citybrain_readings_accepted_total: ['counter', ['kind']],
  citybrain_readings_rejected_total: ['counter', ['reason']],
  citybrain_readings_processed_total: ['counter', ['kind']],
  citybrain_alerts_firing: ['gauge', ['alertname']],
  citybrain_consumer_lag: ['gauge', ['topic']],
  citybrain_ingest_append_seconds: ['histogram', []],
  citybrain_ingest_inflight: ['gauge', []],
  citybrain_ingest_refused_total: ['counter', ['cause']],
  citybrain_mqtt_retained_cleared_total: ['counter', []],
  citybrain_mqtt_clients: ['gauge', []],
  citybrain_mqtt_refused_total: ['counter', ['cause']],
  citybrain_limit_hits_total: ['counter', ['limit']],
  citybrain_stream_clients: ['gauge', []],
  citybrain_mqtt_forward_refused_total: ['counter', ['cause']],
  citybrain_sink_points_written_total: ['counter', ['measurement']],
  citybrain_sink_write_errors_total: ['counter', ['cause']],
  citybrain_sink_points_rejected_total: ['counter', ['measurement']],
  citybrain_sink_records_skipped_total: ['counter', ['topic']],
  citybrain_notifier_sent_total: ['counter', ['state']],
  citybrain_notifier_errors_total: ['counter', ['cause']],
  // Added with the durable log, the elected aggregator and MQTT 5 sessions.
  citybrain_aggregator_leader: ['gauge', []],
  citybrain_log_append_failed_total: ['counter', ['code']],
  citybrain_log_recovery_dropped_bytes_total: ['counter', ['reason']],
  citybrain_mqtt_sessions_expired_total: ['counter', []],
  citybrain_registry_nodes: ['gauge', ['kind']],
  // Added with the metrics topics' byte budget (what the aggregator writes to each metrics.* topic).
  citybrain_metrics_written_bytes_total: ['counter', ['topic']],
  citybrain_metrics_written_records_total: ['counter', ['topic']],
};

const linux = process.platform === 'linux';
/** The client's default process and Node.js metrics (Linux adds the /proc ones). */
const DEFAULTS: Record<string, MetricType> = {
  process_cpu_user_seconds_total: 'counter',
  process_cpu_system_seconds_total: 'counter',
  process_cpu_seconds_total: 'counter',
  process_start_time_seconds: 'gauge',
  process_resident_memory_bytes: 'gauge',
  ...(linux && { process_virtual_memory_bytes: 'gauge', process_heap_bytes: 'gauge', process_open_fds: 'gauge', process_max_fds: 'gauge' }),
  nodejs_eventloop_lag_seconds: 'gauge',
  nodejs_eventloop_lag_min_seconds: 'gauge',
  nodejs_eventloop_lag_max_seconds: 'gauge',
  nodejs_eventloop_lag_mean_seconds: 'gauge',
  nodejs_eventloop_lag_stddev_seconds: 'gauge',
  nodejs_eventloop_lag_p50_seconds: 'gauge',
  nodejs_eventloop_lag_p90_seconds: 'gauge',
  nodejs_eventloop_lag_p99_seconds: 'gauge',
  // New in @prometheus-io/client (prom-client 15 had neither).
  nodejs_eventloop_utilization_summary: 'summary',
  nodejs_eventloop_utilization_histogram: 'histogram',
  nodejs_active_resources: 'gauge',
  nodejs_active_resources_total: 'gauge',
  nodejs_active_handles: 'gauge',
  nodejs_active_handles_total: 'gauge',
  nodejs_active_requests: 'gauge',
  nodejs_active_requests_total: 'gauge',
  nodejs_heap_size_total_bytes: 'gauge',
  nodejs_heap_size_used_bytes: 'gauge',
  nodejs_external_memory_bytes: 'gauge',
  nodejs_heap_space_size_total_bytes: 'gauge',
  nodejs_heap_space_size_used_bytes: 'gauge',
  nodejs_heap_space_size_available_bytes: 'gauge',
  nodejs_version_info: 'gauge',
  nodejs_gc_duration_seconds: 'histogram',
};

/** `# TYPE` lines as name -> type, and each series' label names (without `le`/`quantile`) by metric name. */
function parse(text: string): { types: Map<string, string>; labels: Map<string, Set<string>> } {
  const types = new Map<string, string>();
  const labels = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    const series = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? /.exec(line);
    if (!series) continue;
    const metric = series[1]!.replace(/_(bucket|sum|count)$/, '');
    const names = [...(series[2] ?? '').matchAll(/(\w+)="/g)].map((m) => m[1]!).filter((n) => n !== 'le' && n !== 'quantile');
    labels.set(metric, new Set([...(labels.get(metric) ?? []), ...names]));
  }
  return { types, labels };
}

describe('/metrics exposition of a running pipeline', () => {
  let pipeline: RunningPipeline;
  beforeAll(async () => {
    pipeline = await startPipeline({ config: testConfig(), registry: generateCity(defaultKinds()), clock: testNow, defaultMetrics: true });
  });
  afterAll(async () => pipeline?.close());

  it('serves every pipeline and default metric with its type, and nothing else', async () => {
    const res = await fetch(`http://127.0.0.1:${pipeline.httpPort}/metrics`);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const { types } = parse(await res.text());
    const want = { ...Object.fromEntries(Object.entries(PIPELINE).map(([name, [type]]) => [name, type])), ...DEFAULTS };
    expect(Object.fromEntries([...types].sort())).toEqual(Object.fromEntries(Object.entries(want).sort()));
  });

  it('labels each pipeline series with the contract label names', async () => {
    // A labelled metric shows its label names only once it has a series: give each one (an increment by 0).
    for (const [name, [type, labelNames]] of Object.entries(PIPELINE)) {
      if (type === 'histogram' || labelNames.length === 0) continue;
      const metric = pipeline.metrics.registry.getSingleMetric(name) as Counter<string> | Gauge<string>;
      metric.inc(Object.fromEntries(labelNames.map((l) => [l, 'contract-test'])), 0);
    }
    const { labels } = parse(await (await fetch(`http://127.0.0.1:${pipeline.httpPort}/metrics`)).text());
    for (const [name, [, labelNames]] of Object.entries(PIPELINE))
      expect([name, [...(labels.get(name) ?? [])].sort()]).toEqual([name, labelNames]);
  });
});
