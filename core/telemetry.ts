import type { Kind, ReadingOf } from './kinds/index.js';

/** A validated reading as it travels on `telemetry.raw`, keyed by node id. */
export type ReadingRecord<K extends Kind = Kind> = {
  [P in K]: {
    type: 'reading';
    nodeId: string;
    kind: P;
    district: string;
    /** When the broker accepted it (epoch ms); `reading.ts` is event time. */
    receivedAt: number;
    /** The gateway that carried it, when it came in a batch. */
    gatewayId?: string;
    reading: ReadingOf<P>;
  };
}[K];

/** A reading of a profile kind: the common fields and the fields its profile defines. */
export interface ProfileReading {
  ts: number;
  seq?: number;
  battery?: number;
  rssi?: number;
  [field: string]: unknown;
}

/** A validated reading of a profile kind on `telemetry.raw`. */
export interface ProfileReadingRecord {
  type: 'reading';
  nodeId: string;
  kind: string;
  district: string;
  receivedAt: number;
  gatewayId?: string;
  reading: ProfileReading;
}

/** A node's own online/offline announcement (birth message or last will). */
export interface StatusRecord {
  type: 'status';
  nodeId: string;
  kind: string;
  district: string;
  status: 'online' | 'offline';
  receivedAt: number;
}

/** A reading of any kind, built-in or profile. */
export type AnyReadingRecord = ReadingRecord | ProfileReadingRecord;

export type TelemetryRecord = AnyReadingRecord | StatusRecord;

export const REJECT_REASONS = [
  'bad-topic',
  'bad-json',
  'bad-schema',
  'bad-timestamp',
  'unknown-kind',
  'unknown-node',
  'node-mismatch',
  'topic-mismatch',
  'too-large',
  /** Behind its log partition's event-time watermark (newest reading minus ALLOWED_LATENESS_S): dead-lettered by the processors, not applied. */
  'late',
  /** An authenticated device or gateway published outside its own topics or nodes (MQTT_AUTH=on). */
  'unauthorized',
  /** The node (or the gateway that carried it) has been decommissioned from the registry. */
  'decommissioned',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** What lands on `telemetry.dlq`: enough to see what was wrong and to replay it once fixed. */
export interface RejectedRecord {
  reason: RejectReason;
  detail: string;
  topic: string;
  clientId?: string;
  nodeId?: string;
  receivedAt: number;
  /** The raw payload, base64, cut to `payloadBytes` limit; `truncated` says whether it was cut. */
  payload: string;
  payloadBytes: number;
  truncated: boolean;
}

/** Default cut of the raw payload kept in a dead letter. */
export const DLQ_PAYLOAD_BYTES = 4096;

/** One dead letter (ingest's rejections and the processors' late readings write the same shape). */
export function rejectedRecord(
  fields: Omit<RejectedRecord, 'payload' | 'payloadBytes' | 'truncated'>,
  payload: Buffer,
  limit = DLQ_PAYLOAD_BYTES,
): RejectedRecord {
  return {
    ...fields,
    payload: payload.subarray(0, limit).toString('base64'),
    payloadBytes: payload.length,
    truncated: payload.length > limit,
  };
}
