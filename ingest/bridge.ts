import type { Logger } from 'pino';
import {
  TOPICS,
  type NodeRegistry,
  type OutgoingMessage,
  type PipelineMetrics,
  type Producer,
  type RejectedRecord,
  type RejectReason,
  type StatusRecord,
} from '../core/index.js';
import { parseTopic } from './topics.js';
import { validateReading, type Verdict } from './validate.js';

export interface BridgeOptions {
  registry: NodeRegistry;
  producer: Producer;
  metrics: PipelineMetrics;
  logger: Logger;
  maxPayloadBytes: number;
  maxBatchBytes: number;
  maxFutureSkewMs: number;
  /** Raw bytes kept in a dead-letter record. */
  dlqPayloadBytes?: number;
  now?: () => number;
}

export interface BridgeResult {
  accepted: number;
  rejected: number;
}

type Rejection = { reason: RejectReason; detail: string; nodeId?: string; payload?: Buffer };

/**
 * Turns one MQTT publish into log appends: accepted readings to `telemetry.raw` keyed by node id,
 * everything else to `telemetry.dlq` with its reason. The returned promise settles only once the
 * log holds every record, so the broker acknowledges a QoS 1 publish after the append.
 */
export class TelemetryBridge {
  readonly #o: BridgeOptions;
  readonly #now: () => number;

  constructor(options: BridgeOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  async handle(topic: string, payload: Buffer, clientId?: string): Promise<BridgeResult> {
    const receivedAt = this.#now();
    const accepted: OutgoingMessage[] = [];
    const rejected: Rejection[] = [];
    const acceptedKinds: string[] = [];
    const take = (verdict: Verdict, raw: Buffer) => {
      if (verdict.ok) {
        accepted.push({ key: verdict.record.nodeId, value: Buffer.from(JSON.stringify(verdict.record)), timestamp: verdict.record.reading.ts });
        acceptedKinds.push(verdict.record.kind);
      } else {
        rejected.push({ reason: verdict.reason, detail: verdict.detail, nodeId: verdict.nodeId, payload: raw });
      }
    };

    const target = parseTopic(topic);
    if ('reason' in target) {
      rejected.push({ ...target, payload });
    } else if (target.type === 'batch') {
      if (payload.length > this.#o.maxBatchBytes) {
        rejected.push({ reason: 'too-large', detail: `batch of ${payload.length} bytes exceeds ${this.#o.maxBatchBytes}`, payload });
      } else {
        const body = parseJson(payload);
        if (!body.ok) rejected.push({ reason: 'bad-json', detail: body.detail, payload });
        else this.#unpackBatch(target.gatewayId, body.value, receivedAt, take, rejected, payload);
      }
    } else if (payload.length > this.#o.maxPayloadBytes) {
      rejected.push({ reason: 'too-large', detail: `payload of ${payload.length} bytes exceeds ${this.#o.maxPayloadBytes}`, nodeId: target.nodeId, payload });
    } else if (target.type === 'status') {
      const status = this.#status(target, payload, receivedAt);
      if ('reason' in status) rejected.push({ ...status, payload });
      else accepted.push({ key: status.nodeId, value: Buffer.from(JSON.stringify(status)), timestamp: receivedAt });
    } else {
      const body = parseJson(payload);
      if (!body.ok) rejected.push({ reason: 'bad-json', detail: body.detail, nodeId: target.nodeId, payload });
      else take(validateReading(this.#o.registry, target, body.value, receivedAt, this.#o.maxFutureSkewMs), payload);
    }

    const { producer, metrics } = this.#o;
    const writes: Promise<void>[] = [];
    if (accepted.length > 0) writes.push(producer.send(TOPICS.raw, accepted));
    if (rejected.length > 0) writes.push(producer.send(TOPICS.dlq, rejected.map((r) => this.#deadLetter(r, topic, clientId, receivedAt))));
    await Promise.all(writes);
    for (const kind of acceptedKinds) metrics.accepted.inc({ kind });
    for (const r of rejected) {
      metrics.rejected.inc({ reason: r.reason });
      this.#o.logger.debug({ reason: r.reason, detail: r.detail, topic, clientId, nodeId: r.nodeId }, 'telemetry rejected');
    }
    metrics.appendSeconds.observe((this.#now() - receivedAt) / 1000);
    return { accepted: acceptedKinds.length, rejected: rejected.length };
  }

  #unpackBatch(gatewayId: string, body: unknown, receivedAt: number, take: (v: Verdict, raw: Buffer) => void, rejected: Rejection[], raw: Buffer): void {
    const readings = (body as { readings?: unknown } | null)?.readings;
    if (typeof body !== 'object' || body === null || !Array.isArray(readings)) {
      rejected.push({ reason: 'bad-schema', detail: `gateway ${gatewayId} batch must be { "readings": [ ... ] }`, payload: raw });
      return;
    }
    readings.forEach((entry: unknown, i: number) => {
      const entryRaw = Buffer.from(JSON.stringify(entry) ?? 'null');
      const e = entry as { nodeId?: unknown; kind?: unknown } | null;
      if (typeof e !== 'object' || e === null || typeof e.nodeId !== 'string' || typeof e.kind !== 'string') {
        rejected.push({ reason: 'bad-schema', detail: `gateway ${gatewayId} batch entry ${i}: needs string nodeId and kind`, payload: entryRaw });
        return;
      }
      take(validateReading(this.#o.registry, { nodeId: e.nodeId, kind: e.kind, gatewayId }, entry, receivedAt, this.#o.maxFutureSkewMs), entryRaw);
    });
  }

  #status(target: { nodeId: string; kind: StatusRecord['kind']; district: string }, payload: Buffer, receivedAt: number): StatusRecord | Rejection {
    const text = payload.toString('utf8').trim().toLowerCase();
    if (text !== 'online' && text !== 'offline') {
      return { reason: 'bad-schema', detail: `status payload must be online or offline (got ${JSON.stringify(text.slice(0, 32))})`, nodeId: target.nodeId };
    }
    const node = this.#o.registry.get(target.nodeId);
    if (!node) return { reason: 'unknown-node', detail: `node ${target.nodeId} is not in the registry`, nodeId: target.nodeId };
    if (node.kind !== target.kind || node.district !== target.district) {
      return { reason: 'topic-mismatch', detail: `node ${target.nodeId} is registered as ${node.district}/${node.kind}, not ${target.district}/${target.kind}`, nodeId: target.nodeId };
    }
    return { type: 'status', nodeId: node.nodeId, kind: node.kind, district: node.district, status: text, receivedAt };
  }

  #deadLetter(r: Rejection, topic: string, clientId: string | undefined, receivedAt: number): OutgoingMessage {
    const limit = this.#o.dlqPayloadBytes ?? 4096;
    const payload = r.payload ?? Buffer.alloc(0);
    const record: RejectedRecord = {
      reason: r.reason,
      detail: r.detail,
      topic: topic.slice(0, 512),
      ...(clientId ? { clientId } : {}),
      ...(r.nodeId ? { nodeId: r.nodeId } : {}),
      receivedAt,
      payload: payload.subarray(0, limit).toString('base64'),
      payloadBytes: payload.length,
      truncated: payload.length > limit,
    };
    return { key: r.nodeId ?? null, value: Buffer.from(JSON.stringify(record)), timestamp: receivedAt };
  }
}

function parseJson(payload: Buffer): { ok: true; value: unknown } | { ok: false; detail: string } {
  try {
    return { ok: true, value: JSON.parse(payload.toString('utf8')) };
  } catch (e) {
    return { ok: false, detail: `payload is not valid JSON: ${(e as Error).message.slice(0, 200)}` };
  }
}
