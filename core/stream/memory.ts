import { withDefaults } from '../defaults.js';
import { Groups, tpKey, type GroupLog, type GroupPartition } from './groups.js';
import { partitionFor } from './partitioner.js';
import type { Batch, Consumer, ConsumerOptions, OutgoingMessage, Producer, StreamRecord, StreamTransport, TopicSpec } from './types.js';

export interface MemoryTransportOptions {
  /** Unconsumed records per partition (for the slowest active group) before `send` waits: backpressure, never loss. */
  maxLag?: number;
  /** Records kept per partition for a group that has stopped reading (bounds memory; Kafka's retention). */
  maxRetained?: number;
  /** Records kept per partition for topics no group reads (the dead-letter topic when nothing consumes it, say). */
  retainUnread?: number;
  /** Called when a batch handler throws; the batch is then delivered again after `retryDelayMs`. */
  onError?(error: unknown, batch: Batch, groupId: string): void;
  retryDelayMs?: number;
}

/** The in-process log's defaults. */
export const MEMORY_TRANSPORT_DEFAULTS = {
  maxLag: 100_000,
  maxRetained: 1_000_000,
  retainUnread: 10_000,
  retryDelayMs: 1000,
};

class PartitionLog implements GroupPartition {
  /** Offset of records[0]. */
  base = 0;
  records: StreamRecord[] = [];
  #wakers = new Set<() => void>();

  get end(): number {
    return this.base + this.records.length;
  }

  append(record: Omit<StreamRecord, 'offset'>): void {
    this.records.push({ ...record, offset: this.end });
    this.notify();
  }

  read(from: number, max: number, until: number): { records: StreamRecord[]; next: number } {
    const start = Math.max(from, this.base) - this.base;
    const records = this.records.slice(start, start + Math.min(max, until - this.base - start));
    return { records, next: this.base + start + records.length };
  }

  /** Drops records below `offset`; batched so the array is not shifted on every commit. */
  trimTo(offset: number): void {
    const n = Math.min(offset, this.end) - this.base;
    if (n <= 0 || (n < 1024 && n < this.records.length)) return;
    this.records.splice(0, n);
    this.base += n;
  }

  notify(): void {
    for (const wake of this.#wakers) wake();
    this.#wakers.clear();
  }

  /** Resolves on the next append or trim. */
  changed(): Promise<void> {
    return new Promise((resolve) => this.#wakers.add(resolve));
  }
}

/**
 * The in-process log: the embedded default. Partitions, keyed placement, consumer groups with
 * committed positions and at-least-once delivery behave as on Kafka; nothing survives the process.
 */
export class MemoryTransport implements StreamTransport {
  readonly name = 'memory';
  readonly durable = false;
  readonly stateIn = 'files' as const;
  readonly #topics = new Map<string, PartitionLog[]>();
  readonly #groups: Groups;
  readonly #o: typeof MEMORY_TRANSPORT_DEFAULTS;

  constructor(readonly options: MemoryTransportOptions = {}) {
    this.#o = withDefaults(MEMORY_TRANSPORT_DEFAULTS, options);
    const log: GroupLog = {
      partitions: (topic) => this.topic(topic),
      committed: (_group, topic, partition) => this.trim(topic, partition),
      afterMembershipChange: () => this.afterMembershipChange(),
      retryDelayMs: this.#o.retryDelayMs,
      onError: (error, batch, groupId) => options.onError?.(error, batch, groupId),
    };
    this.#groups = new Groups(log);
  }

  topic(name: string): PartitionLog[] {
    const partitions = this.#topics.get(name);
    if (!partitions) throw new Error(`unknown topic ${name}: create it with ensureTopics first`);
    return partitions;
  }

  async ensureTopics(specs: TopicSpec[]): Promise<void> {
    for (const spec of specs) {
      if (spec.partitions < 1 || !Number.isInteger(spec.partitions))
        throw new Error(`topic ${spec.name}: partitions must be a positive integer`);
      if (!this.#topics.has(spec.name))
        this.#topics.set(
          spec.name,
          Array.from({ length: spec.partitions }, () => new PartitionLog()),
        );
    }
  }

  async partitionCount(topic: string): Promise<number> {
    return this.topic(topic).length;
  }

  async producer(): Promise<Producer> {
    return {
      send: async (topic: string, messages: OutgoingMessage[]) => {
        const partitions = this.topic(topic);
        for (const message of messages) {
          const partition = partitionFor(message.key, partitions.length);
          const log = partitions[partition]!;
          // Check and append with no await in between, so concurrent senders cannot overrun the bound.
          while (!this.#hasRoom(topic, partition)) await log.changed();
          log.append({
            topic,
            partition,
            key: message.key,
            value: message.value,
            // Append time, as on Kafka (see OutgoingMessage).
            timestamp: Date.now(),
            headers: message.headers ?? {},
          });
          if (log.records.length > this.#o.retainUnread) this.trim(topic, partition);
        }
      },
    };
  }

  /** Backpressure: false while the slowest active group is maxLag records behind on this partition. */
  #hasRoom(topic: string, partition: number): boolean {
    const { maxLag } = this.#o;
    const log = this.topic(topic)[partition]!;
    let slowest = log.end;
    for (const group of this.#groups.all()) {
      if (!group.members.some((m) => m.options.topics.includes(topic))) continue;
      slowest = Math.min(slowest, group.position(topic, partition, true));
    }
    return log.end - slowest < maxLag;
  }

  /**
   * Drops what every reading group has committed. A group keeps its position while it has no
   * members (a restart resumes), but never holds more than maxRetained records; topics that no
   * group reads keep only the last retainUnread records.
   */
  trim(topic: string, partition: number): void {
    const log = this.topic(topic)[partition]!;
    const key = tpKey(topic, partition);
    let lowest = Infinity;
    for (const group of this.#groups.all()) {
      const reads = group.committed.has(key) || group.members.some((m) => m.options.topics.includes(topic));
      if (reads) lowest = Math.min(lowest, group.committed.get(key) ?? log.base);
    }
    const cap = lowest === Infinity ? this.#o.retainUnread : this.#o.maxRetained;
    log.trimTo(Math.max(lowest === Infinity ? 0 : lowest, log.end - cap));
    log.notify();
  }

  afterMembershipChange(): void {
    for (const partitions of this.#topics.values()) for (const log of partitions) log.notify();
  }

  consume(options: ConsumerOptions): Promise<Consumer> {
    return this.#groups.join(options);
  }

  close(): Promise<void> {
    return this.#groups.stopAll();
  }
}
