import type { KindCatalog } from '../kinds/index.js';
import type { TopicSpec } from './types.js';

/** Fixed log topic names (see the design): other stages and the operations center depend on them. */
export const TOPICS = {
  raw: 'telemetry.raw',
  dlq: 'telemetry.dlq',
  alerts: 'alerts',
  nodeMetrics: 'metrics.nodes',
  /** Each log partition's share of the KPIs (mergeable counts), keyed by source partition; merged by the aggregator. */
  partials: 'metrics.partials',
  /** Processor state snapshots, one per raw partition (cut into parts), keyed `telemetry.raw:<p>#<part>`; restored on start and on rebalance. */
  state: 'state.processors',
  metrics: (kind: string) => `metrics.${kind}`,
  /**
   * One partition: the member of the `citybrain-aggregator` group that owns it is the one `api`
   * instance that aggregates. It also carries the other instances' alert acknowledgements and
   * notes to that one, and its answers.
   */
  aggregatorControl: 'aggregator.control',
  /** The aggregator's holds (EvaluatorHolds), one record keyed `holds`: what a takeover needs besides the alerts. */
  aggregatorHolds: 'aggregator.holds',
  /** Changes of the node registry, keyed `node/<id>`, `gateway/<id>`, `road/<name>` (compacted: each entity's latest); one partition, one order for every stage. */
  registry: 'registry',
  /** Nodes the registry does not know, first seen by ingest (AUTO_REGISTER=quarantine), keyed by node id, waiting for an operator. */
  pending: 'registry.pending',
  /** Who changed what in the registry, when, before and after: the audit trail. */
  audit: 'audit',
} as const;

export const GROUPS = {
  processors: 'citybrain-processors',
  /** The `api` instances: whoever owns the one partition of `aggregator.control` aggregates. */
  aggregator: 'citybrain-aggregator',
} as const;

const DAY = 86_400_000;
/**
 * City-wide documents are single records that grow with the city: a partition's partial or the
 * parking KPIs pass 1 MiB (Kafka's default record batch limit) at about 500,000 nodes.
 */
const LARGE_RECORDS = { 'max.message.bytes': String(16 * 1024 * 1024) };

/**
 * A `metrics.*` topic: a summary record keyed `city` and one record per keyed list entry
 * (`lot:<id>`, ...), written when they change (processors/aggregation/metrics-publisher.ts).
 * Compacted, so a reader from the beginning gets each key's latest, and deleting after 7 days
 * (every key is re-sent within METRICS_REFRESH_S, at most 6 days, so its latest stays); segments
 * roll hourly so compaction can drop superseded records.
 */
function metricsTopicSpec(name: string): TopicSpec {
  return {
    name,
    partitions: 1,
    compacted: true,
    retentionMs: 7 * DAY,
    configs: { ...LARGE_RECORDS, 'segment.ms': String(60 * 60_000), 'min.cleanable.dirty.ratio': '0.1' },
  };
}

/** Partition counts, retention and compaction of every topic the pipeline uses: its own and one `metrics.<kind>` per kind. */
export function topicSpecs(kinds: KindCatalog, partitions = 12): TopicSpec[] {
  return [...pipelineTopicSpecs(partitions), ...kinds.names().map((kind) => metricsTopicSpec(TOPICS.metrics(kind)))];
}

/** The topics of the pipeline itself, whatever the kinds. */
export function pipelineTopicSpecs(partitions = 12): TopicSpec[] {
  return [
    { name: TOPICS.raw, partitions, retentionMs: 7 * DAY },
    { name: TOPICS.dlq, partitions: Math.max(1, Math.floor(partitions / 4)), retentionMs: 14 * DAY },
    { name: TOPICS.alerts, partitions: 1, compacted: true },
    { name: TOPICS.partials, partitions: 1, compacted: true, configs: LARGE_RECORDS },
    // Snapshots are rewritten every STATE_SNAPSHOT_INTERVAL_MS: roll segments often so compaction can drop the old ones.
    {
      name: TOPICS.state,
      partitions: 1,
      compacted: true,
      configs: { 'segment.ms': String(10 * 60_000), 'min.cleanable.dirty.ratio': '0.1' },
    },
    metricsTopicSpec(TOPICS.nodeMetrics),
    // Requests wait seconds for an answer: an hour of them is plenty to look into.
    { name: TOPICS.aggregatorControl, partitions: 1, retentionMs: DAY / 24 },
    { name: TOPICS.aggregatorHolds, partitions: 1, compacted: true, configs: { 'segment.ms': String(10 * 60_000) } },
    { name: TOPICS.registry, partitions: 1, compacted: true },
    { name: TOPICS.pending, partitions: 1, compacted: true },
    { name: TOPICS.audit, partitions: 1, retentionMs: 400 * DAY },
  ];
}
