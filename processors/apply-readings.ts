import {
  parseJson,
  rejectedRecord,
  type AnyReadingRecord,
  type NodeRegistry,
  type OutgoingMessage,
  type PipelineEvent,
  type StreamRecord,
  type TelemetryRecord,
} from '../core/index.js';
import { PartitionWatermark, type EventClock } from './clock.js';
import type { Deduplicator } from './dedup.js';
import type { NodeHealth } from './health/processor.js';
import type { KindProcessor } from './types.js';

/** Event-time watermark per raw partition, each `allowedLatenessS` behind its partition's newest reading. */
export class Watermarks {
  readonly #byPartition = new Map<number, PartitionWatermark>();

  constructor(readonly allowedLatenessS: number) {}

  /** The partition's watermark, a fresh one (nothing late yet) the first time. */
  of(partition: number): PartitionWatermark {
    let w = this.#byPartition.get(partition);
    if (!w) this.#byPartition.set(partition, (w = new PartitionWatermark(this.allowedLatenessS * 1000)));
    return w;
  }

  /** Newest event time seen on the partition, if any. */
  maxTs(partition: number): number | undefined {
    return this.#byPartition.get(partition)?.maxTs;
  }

  /** Puts back a restored snapshot's newest event time. */
  restore(partition: number, maxTs: number | undefined): void {
    this.#byPartition.set(partition, new PartitionWatermark(this.allowedLatenessS * 1000, maxTs));
  }

  delete(partition: number): void {
    this.#byPartition.delete(partition);
  }
}

/** What applying readings changes: the host's state shared with snapshots, partials and node views. */
export interface ReadingState {
  readonly kinds: ReadonlyMap<string, KindProcessor>;
  readonly health: NodeHealth;
  readonly dedup: Deduplicator;
  readonly clock: EventClock;
  readonly watermarks: Watermarks;
}

/** What one batch of `telemetry.raw` came to, for the host to write, count and log. */
export interface BatchOutcome {
  /** Readings applied per kind (not counting replayed ones). */
  processed: Map<string, number>;
  /** Dead letters of the late readings (none for replayed ones). */
  late: OutgoingMessage[];
  /** Records that are unreadable or name a node (or kind) this registry does not have. */
  skipped: StreamRecord[];
}

/** A reading behind its partition's watermark, for the dead-letter topic (the format ingest writes). */
export function lateDeadLetter(record: AnyReadingRecord, watermark: number, allowedLatenessS: number): OutgoingMessage {
  const rejected = rejectedRecord(
    {
      reason: 'late',
      detail: `reading ts ${new Date(record.reading.ts).toISOString()} is behind its partition's watermark ${new Date(watermark).toISOString()} (newest reading minus ALLOWED_LATENESS_S=${allowedLatenessS})`,
      topic: record.gatewayId
        ? `city/gateways/${record.gatewayId}/batch`
        : `city/${record.district}/${record.kind}/${record.nodeId}/telemetry`,
      nodeId: record.nodeId,
      receivedAt: record.receivedAt,
    },
    Buffer.from(JSON.stringify(record.reading)),
  );
  return { key: record.nodeId, value: Buffer.from(JSON.stringify(rejected)) };
}

/**
 * Applies one batch of a raw partition, in log order. `replay`: records re-read to rebuild state;
 * applied, but neither counted, streamed nor dead-lettered again. Duplicates (same node and seq or
 * ts) are skipped; readings behind their partition's watermark are late: not applied, returned as
 * dead letters. `emit` (only while someone listens) gets each reading applied for the first time.
 */
export function applyReadings(
  state: ReadingState,
  registry: NodeRegistry,
  partition: number,
  records: readonly StreamRecord[],
  replay: boolean,
  emit?: (event: PipelineEvent) => void,
): BatchOutcome {
  const { kinds, health, dedup, clock, watermarks } = state;
  const outcome: BatchOutcome = { processed: new Map(), late: [], skipped: [] };
  const watermark = watermarks.of(partition);
  for (const r of records) {
    const record = parseJson(r.value) as TelemetryRecord | undefined;
    // A node decommissioned after ingest accepted its reading: the reading is still processed (it
    // was accepted first), with the node's attributes as they were; it is in no list, so counted nowhere else.
    const node = record && (registry.get(record.nodeId) ?? registry.decommissioned(record.nodeId));
    if (!record || !node || node.kind !== record.kind) {
      outcome.skipped.push(r);
      continue;
    }
    // The registry's copy of the id: the per-node maps (kinds, health, dedup) keep it as their key
    // and the change logs note it, so no reading's own copy stays alive (one per node, or per reading in a change log).
    record.nodeId = node.nodeId;
    if (record.type === 'reading') {
      if (dedup.seen(record.nodeId, record.reading.ts, record.reading.seq)) continue;
      if (watermark.late(record.reading.ts)) {
        if (!replay) outcome.late.push(lateDeadLetter(record, watermark.value!, watermarks.allowedLatenessS));
        continue;
      }
      clock.observe(record.reading.ts);
      kinds.get(record.kind)!.apply(record, node);
      if (!replay) {
        outcome.processed.set(record.kind, (outcome.processed.get(record.kind) ?? 0) + 1);
        emit?.({ type: 'reading', nodeId: record.nodeId, kind: record.kind, district: record.district, ts: record.reading.ts });
      }
    }
    health.apply(record, clock.now());
  }
  return outcome;
}

/** Counts one batch of `telemetry.dlq` into the rejection tallies of its partition (for DataRejectedSurge). */
export function noteRejections(health: NodeHealth, partition: number, records: readonly StreamRecord[]): void {
  for (const r of records) {
    const rejected = parseJson(r.value) as { reason?: string; receivedAt?: number } | undefined;
    if (rejected?.reason) health.noteRejected(partition, rejected.reason, rejected.receivedAt ?? r.timestamp);
  }
}
