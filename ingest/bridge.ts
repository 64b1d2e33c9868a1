import type { Logger } from 'pino';
import {
  DLQ_PAYLOAD_BYTES,
  TOPICS,
  withDefaults,
  type NodeRegistry,
  type OutgoingMessage,
  type PipelineMetrics,
  type Producer,
  rejectedRecord,
  type RejectReason,
  type StatusRecord,
} from '../core/index.js';
import { boundedJson } from './bounded-json.js';
import type { Quarantine } from './quarantine.js';
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
  /** Raw bytes kept in a dead-letter record (DLQ_PAYLOAD_BYTES, default 4096). */
  dlqPayloadBytes?: number;
  /** Nesting depth kept when a batch entry is re-serialised for its dead letter (DLQ_PAYLOAD_MAX_DEPTH, default 32). */
  dlqPayloadMaxDepth?: number;
  /** Entries of one gateway batch at most (MAX_BATCH_ENTRIES, default 1000); a batch with more is one dead letter. */
  maxBatchEntries?: number;
  /** AUTO_REGISTER=quarantine: unknown nodes' first messages also go on the pending list. */
  quarantine?: Quarantine;
  now?: () => number;
}

/** The bridge's defaults (the ingest stage sets the limits from config). */
export const BRIDGE_DEFAULTS = {
  dlqPayloadBytes: DLQ_PAYLOAD_BYTES,
  dlqPayloadMaxDepth: 32,
  maxBatchEntries: 1_000,
  now: Date.now,
};

export interface BridgeResult {
  accepted: number;
  rejected: number;
  /** The first rejection's reason (a wholly rejected publish is refused with its MQTT 5 reason code). */
  reason?: RejectReason;
}

type Rejection = { reason: RejectReason; detail: string; nodeId?: string; payload?: Buffer; kind?: string };

/** Who sent a publish: its MQTT client id, and the record headers from its MQTT 5 user properties (./user-properties.ts). */
export interface Sender {
  clientId?: string;
  headers?: Record<string, string>;
}

/** What the publisher may speak for (MQTT auth): a gateway's batch entries for nodes not behind it are rejected as `unauthorized`. */
export interface PublishScope {
  refuseEntry?: (nodeId: string) => string | undefined;
}

/**
 * One log topic's appends from concurrent publishes, sent together: while one producer.send is in
 * flight, the records of every publish arriving meanwhile wait and go out as the next single send
 * (on Kafka one produce request for many publishes instead of one each). Sends run one after the
 * other, so the order of records is the order of arrival. Each caller's promise settles when the
 * send holding its records does (a failed send fails every publish in it: none is acknowledged).
 * A send carries at most `maxSendBytes` of values (whole publishes; a larger single one alone):
 * after an outage thousands of publishes wait at once, and one send of all of them would exceed
 * the broker's record batch limit (message.max.bytes, 1 MiB by default) and fail again and again.
 */
export class LogAppender {
  #queue: { messages: OutgoingMessage[]; bytes: number; resolve: () => void; reject: (error: unknown) => void }[] = [];
  #sending = false;

  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly maxSendBytes = 512 * 1024,
  ) {}

  append(messages: OutgoingMessage[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let bytes = 0;
      for (const m of messages) bytes += m.value.length;
      this.#queue.push({ messages, bytes, resolve, reject });
      if (!this.#sending) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#sending = true;
    while (this.#queue.length > 0) {
      let n = 0;
      let bytes = 0;
      while (n < this.#queue.length && (n === 0 || bytes + this.#queue[n]!.bytes <= this.maxSendBytes)) bytes += this.#queue[n++]!.bytes;
      const entries = this.#queue.splice(0, n);
      try {
        await this.producer.send(this.topic, entries.length === 1 ? entries[0]!.messages : entries.flatMap((e) => e.messages));
        for (const e of entries) e.resolve();
      } catch (error) {
        for (const e of entries) e.reject(error);
      }
    }
    this.#sending = false;
  }
}

/**
 * Turns one MQTT publish into log appends: accepted readings to `telemetry.raw` keyed by node id,
 * everything else to `telemetry.dlq` with its reason. The returned promise settles only once the
 * log holds every record, so the broker acknowledges a QoS 1 publish after the append.
 */
export class TelemetryBridge {
  readonly #o: BridgeOptions & typeof BRIDGE_DEFAULTS;
  readonly #now: () => number;

  readonly #raw: LogAppender;
  readonly #dlq: LogAppender;

  constructor(options: BridgeOptions) {
    this.#o = { ...options, ...withDefaults(BRIDGE_DEFAULTS, options) };
    this.#raw = new LogAppender(options.producer, TOPICS.raw);
    this.#dlq = new LogAppender(options.producer, TOPICS.dlq);
    this.#now = this.#o.now;
  }

  async handle(topic: string, payload: Buffer, from: Sender = {}, scope?: PublishScope): Promise<BridgeResult> {
    const { clientId, headers } = from;
    const receivedAt = this.#now();
    const accepted: OutgoingMessage[] = [];
    const rejected: Rejection[] = [];
    // Readings accepted per kind: counted once per publish, not once per reading (a batch holds hundreds).
    const acceptedKinds = new Map<string, number>();
    let acceptedReadings = 0;
    /** `raw` is a function for batch entries: their bytes are only needed (re-serialised) when rejected. */
    const take = (verdict: Verdict, raw: Buffer | (() => Buffer), kind?: string) => {
      if (verdict.ok) {
        // The reading's own time (`reading.ts`) and its arrival (`receivedAt`) are in the record; the
        // log stamps its append time, not the device's clock (see OutgoingMessage).
        accepted.push({ key: verdict.record.nodeId, value: Buffer.from(JSON.stringify(verdict.record)), ...(headers ? { headers } : {}) });
        acceptedKinds.set(verdict.record.kind, (acceptedKinds.get(verdict.record.kind) ?? 0) + 1);
        acceptedReadings++;
      } else {
        rejected.push({
          reason: verdict.reason,
          detail: verdict.detail,
          nodeId: verdict.nodeId,
          payload: typeof raw === 'function' ? raw() : raw,
          ...(kind ? { kind } : {}),
        });
      }
    };

    const target = parseTopic(topic, this.#o.registry.kinds);
    if ('reason' in target) {
      rejected.push({ ...target, payload });
    } else if (target.type === 'batch') {
      if (payload.length > this.#o.maxBatchBytes) {
        rejected.push({ reason: 'too-large', detail: `batch of ${payload.length} bytes exceeds ${this.#o.maxBatchBytes}`, payload });
      } else {
        const body = parseJson(payload);
        if (!body.ok) rejected.push({ reason: 'bad-json', detail: body.detail, payload });
        else this.#unpackBatch(target.gatewayId, body.value, receivedAt, take, rejected, payload, scope);
      }
    } else if (payload.length > this.#o.maxPayloadBytes) {
      rejected.push({
        reason: 'too-large',
        detail: `payload of ${payload.length} bytes exceeds ${this.#o.maxPayloadBytes}`,
        nodeId: target.nodeId,
        payload,
      });
    } else if (target.type === 'status') {
      const status = this.#status(target, payload, receivedAt);
      if ('reason' in status) rejected.push({ ...status, payload });
      else accepted.push({ key: status.nodeId, value: Buffer.from(JSON.stringify(status)), ...(headers ? { headers } : {}) });
    } else {
      const body = parseJson(payload);
      if (!body.ok) rejected.push({ reason: 'bad-json', detail: body.detail, nodeId: target.nodeId, payload });
      else {
        try {
          take(validateReading(this.#o.registry, target, body.value, receivedAt, this.#o.maxFutureSkewMs), payload);
        } catch (error) {
          // Not expected (validation returns verdicts): the publish is still acknowledged and dead-lettered, never an error.
          rejected.push({
            reason: 'bad-schema',
            detail: `payload could not be judged (${(error as Error).name})`,
            nodeId: target.nodeId,
            payload,
          });
        }
      }
    }

    const { metrics } = this.#o;
    const writes: Promise<void>[] = [];
    if (accepted.length > 0) writes.push(this.#raw.append(accepted));
    if (rejected.length > 0) writes.push(this.#dlq.append(rejected.map((r) => this.#deadLetter(r, topic, from, receivedAt))));
    const sighted = this.#o.quarantine && rejected.filter((r) => r.reason === 'unknown-node' && r.nodeId);
    if (sighted && sighted.length > 0) {
      const where =
        'reason' in target
          ? {}
          : target.type === 'batch'
            ? { gatewayId: target.gatewayId }
            : { kind: target.kind, district: target.district };
      const sightings = sighted.map((r) => ({
        nodeId: r.nodeId!,
        ...where,
        ...(r.kind ? { kind: r.kind } : {}),
        topic,
        ...(clientId ? { clientId } : {}),
        firstSeen: receivedAt,
      }));
      const reported = this.#o.quarantine!.report(
        sightings,
        sighted.map((r) => r.payload ?? Buffer.alloc(0)),
      );
      if (reported) writes.push(reported);
    }
    await Promise.all(writes);
    for (const [kind, n] of acceptedKinds) metrics.accepted.inc({ kind }, n);
    for (const r of rejected) {
      metrics.rejected.inc({ reason: r.reason });
      this.#o.logger.debug({ reason: r.reason, detail: r.detail, topic, clientId, nodeId: r.nodeId }, 'telemetry rejected');
    }
    metrics.appendSeconds.observe((this.#now() - receivedAt) / 1000);
    return { accepted: acceptedReadings, rejected: rejected.length, ...(rejected[0] ? { reason: rejected[0].reason } : {}) };
  }

  /** A publish the sender may not make (MQTT auth): dead-lettered and counted as `unauthorized`, never appended to telemetry.raw. */
  async refuse(topic: string, payload: Buffer, from: Sender, detail: string, nodeId?: string): Promise<void> {
    const receivedAt = this.#now();
    await this.#dlq.append([this.#deadLetter({ reason: 'unauthorized', detail, nodeId, payload }, topic, from, receivedAt)]);
    this.#o.metrics.rejected.inc({ reason: 'unauthorized' });
    this.#o.logger.debug({ reason: 'unauthorized', detail, topic, clientId: from.clientId }, 'telemetry rejected');
  }

  /**
   * A batch is judged entry by entry, so its cost is bounded by its number of entries: over
   * MAX_BATCH_ENTRIES the whole batch is one dead letter (520,000 tiny bad entries in 1 MiB would
   * otherwise make 520,000 dead letters and stall the broker for seconds). An entry's dead letter
   * holds a bounded copy of it (depth and size), and an entry that cannot be judged for any reason
   * is dead-lettered alone: the entries beside it are still accepted.
   */
  #unpackBatch(
    gatewayId: string,
    body: unknown,
    receivedAt: number,
    take: (v: Verdict, raw: () => Buffer, kind?: string) => void,
    rejected: Rejection[],
    raw: Buffer,
    scope?: PublishScope,
  ): void {
    const readings = (body as { readings?: unknown } | null)?.readings;
    if (typeof body !== 'object' || body === null || !Array.isArray(readings)) {
      rejected.push({ reason: 'bad-schema', detail: `gateway ${gatewayId} batch must be { "readings": [ ... ] }`, payload: raw });
      return;
    }
    const { registry, maxFutureSkewMs, maxBatchEntries: maxEntries } = this.#o;
    if (readings.length > maxEntries) {
      this.#o.metrics.limitHits.inc({ limit: 'MAX_BATCH_ENTRIES' });
      rejected.push({
        reason: 'too-large',
        detail: `gateway ${gatewayId} batch of ${readings.length} entries exceeds MAX_BATCH_ENTRIES (${maxEntries})`,
        payload: raw,
      });
      return;
    }
    for (let i = 0; i < readings.length; i++) {
      const entry: unknown = readings[i];
      const entryRaw = () => this.#entryCopy(entry);
      try {
        const e = entry as { nodeId?: unknown; kind?: unknown } | null;
        if (typeof e !== 'object' || e === null || typeof e.nodeId !== 'string' || typeof e.kind !== 'string') {
          rejected.push({
            reason: 'bad-schema',
            detail: `gateway ${gatewayId} batch entry ${i}: needs string nodeId and kind`,
            payload: entryRaw(),
          });
          continue;
        }
        const refused = scope?.refuseEntry?.(e.nodeId);
        if (refused) {
          rejected.push({ reason: 'unauthorized', detail: `batch entry ${i}: ${refused}`, nodeId: e.nodeId, payload: entryRaw() });
          continue;
        }
        take(
          validateReading(registry, { nodeId: e.nodeId, kind: e.kind, gatewayId }, entry, receivedAt, maxFutureSkewMs),
          entryRaw,
          e.kind,
        );
      } catch (error) {
        // Not expected (validation returns verdicts); one entry must never lose the batch its PUBACK.
        this.#o.logger.warn({ gatewayId, entry: i, err: (error as Error).message }, 'batch entry could not be judged; dead-lettered');
        rejected.push({
          reason: 'bad-schema',
          detail: `gateway ${gatewayId} batch entry ${i}: could not be judged (${(error as Error).name})`,
          payload: entryRaw(),
        });
      }
    }
  }

  /** A batch entry's bytes for its dead letter: a bounded copy (never a throw, whatever its depth or size). */
  #entryCopy(entry: unknown): Buffer {
    const copy = boundedJson(entry, this.#o.dlqPayloadMaxDepth, this.#o.dlqPayloadBytes);
    if (copy.depthCut) this.#o.metrics.limitHits.inc({ limit: 'DLQ_PAYLOAD_MAX_DEPTH' });
    if (copy.sizeCut) this.#o.metrics.limitHits.inc({ limit: 'DLQ_PAYLOAD_BYTES' });
    return Buffer.from(copy.text);
  }

  #status(
    target: { nodeId: string; kind: StatusRecord['kind']; district: string },
    payload: Buffer,
    receivedAt: number,
  ): StatusRecord | Rejection {
    const text = payload.toString('utf8').trim().toLowerCase();
    if (text !== 'online' && text !== 'offline') {
      return {
        reason: 'bad-schema',
        detail: `status payload must be online or offline (got ${JSON.stringify(text.slice(0, 32))})`,
        nodeId: target.nodeId,
      };
    }
    const node = this.#o.registry.get(target.nodeId);
    if (!node) return { reason: 'unknown-node', detail: `node ${target.nodeId} is not in the registry`, nodeId: target.nodeId };
    if (node.kind !== target.kind || node.district !== target.district) {
      return {
        reason: 'topic-mismatch',
        detail: `node ${target.nodeId} is registered as ${node.district}/${node.kind}, not ${target.district}/${target.kind}`,
        nodeId: target.nodeId,
      };
    }
    return { type: 'status', nodeId: node.nodeId, kind: node.kind, district: node.district, status: text, receivedAt };
  }

  #deadLetter(r: Rejection, topic: string, { clientId, headers }: Sender, receivedAt: number): OutgoingMessage {
    const record = rejectedRecord(
      {
        reason: r.reason,
        detail: r.detail,
        topic: topic.slice(0, 512),
        ...(clientId ? { clientId } : {}),
        ...(r.nodeId ? { nodeId: r.nodeId } : {}),
        receivedAt,
      },
      r.payload ?? Buffer.alloc(0),
      this.#o.dlqPayloadBytes,
    );
    return { key: r.nodeId ?? null, value: Buffer.from(JSON.stringify(record)), ...(headers ? { headers } : {}) };
  }
}

function parseJson(payload: Buffer): { ok: true; value: unknown } | { ok: false; detail: string } {
  try {
    return { ok: true, value: JSON.parse(payload.toString('utf8')) };
  } catch (e) {
    return { ok: false, detail: `payload is not valid JSON: ${(e as Error).message.slice(0, 200)}` };
  }
}
