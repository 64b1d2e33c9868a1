import { setTimeout as sleep } from 'node:timers/promises';
import { withDefaults } from '../defaults.js';
import { partitionFor } from './partitioner.js';
import {
  CONSUMER_DEFAULTS,
  type Batch,
  type Consumer,
  type ConsumerOptions,
  type OutgoingMessage,
  type Producer,
  type StreamRecord,
  type StreamTransport,
  type TopicPartition,
  type TopicSpec,
} from './types.js';

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

class PartitionLog {
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

  read(from: number, max: number): StreamRecord[] {
    const start = Math.max(from, this.base) - this.base;
    return this.records.slice(start, start + max);
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

const tpKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

class Group {
  readonly committed = new Map<string, number>();
  readonly members: Member[] = [];
  #rebalancing: Promise<void> = Promise.resolve();

  constructor(
    readonly id: string,
    readonly transport: MemoryTransport,
  ) {}

  /** Shares the subscribed partitions round-robin among members; waits for in-flight batches first. */
  rebalance(): Promise<void> {
    this.#rebalancing = this.#rebalancing.then(async () => {
      await Promise.all(this.members.map((m) => m.pause()));
      const topics = [...new Set(this.members.flatMap((m) => m.options.topics))].sort();
      const all: TopicPartition[] = topics.flatMap((topic) =>
        Array.from({ length: this.transport.topic(topic).length }, (_, partition) => ({ topic, partition })),
      );
      const next = new Map<Member, TopicPartition[]>(this.members.map((m) => [m, []]));
      all.forEach((tp, i) => {
        const candidates = this.members.filter((m) => m.options.topics.includes(tp.topic));
        if (candidates.length > 0) next.get(candidates[i % candidates.length]!)!.push(tp);
      });
      for (const member of this.members) await member.reassign(next.get(member)!);
      for (const member of this.members) member.resume();
    });
    return this.#rebalancing;
  }

  position(topic: string, partition: number, fromBeginning: boolean): number {
    const log = this.transport.topic(topic)[partition]!;
    const pos = this.committed.get(tpKey(topic, partition)) ?? (fromBeginning ? log.base : log.end);
    return Math.max(pos, log.base);
  }
}

class Member implements Consumer {
  assigned: TopicPartition[] = [];
  #stopped = false;
  #paused = false;
  #idle: Promise<void> = Promise.resolve();
  #resume: (() => void) | null = null;
  #kick: (() => void) | null = null;
  #loop: Promise<void>;
  /** rebuildOnAssign: per gained partition, the next offset to replay and the committed offset at assignment. */
  readonly #replay = new Map<string, { next: number; until: number }>();
  readonly #fromBeginning: boolean;
  readonly #maxBatchSize: number;

  constructor(
    readonly group: Group,
    readonly options: ConsumerOptions,
    readonly transport: MemoryTransport,
    /** The transport's pause before a batch whose handler threw is delivered again. */
    readonly retryDelayMs: number,
  ) {
    this.#loop = Promise.resolve();
    const { fromBeginning, maxBatchSize } = withDefaults(CONSUMER_DEFAULTS, options);
    this.#fromBeginning = fromBeginning;
    this.#maxBatchSize = maxBatchSize;
  }

  start(): void {
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    const maxBatch = this.#maxBatchSize;
    let rotate = 0;
    while (!this.#stopped) {
      if (this.#paused) {
        await new Promise<void>((resolve) => (this.#resume = resolve));
        continue;
      }
      let delivered = false;
      let finishCycle!: () => void;
      this.#idle = new Promise((resolve) => (finishCycle = resolve));
      const owned = this.assigned;
      for (let i = 0; i < owned.length && !this.#paused && !this.#stopped; i++) {
        const { topic, partition } = owned[(i + rotate) % owned.length]!;
        const log = this.transport.topic(topic)[partition]!;
        const replay = this.#replayOf(topic, partition, log);
        const from = replay ? Math.max(replay.next, log.base) : this.group.position(topic, partition, this.#fromBeginning);
        if (from >= log.end) continue;
        const records = log.read(from, replay ? Math.min(maxBatch, replay.until - from) : maxBatch);
        const batch: Batch = replay ? { topic, partition, records, replay: true } : { topic, partition, records };
        try {
          await this.options.onBatch(batch);
        } catch (error) {
          this.transport.options.onError?.(error, batch, this.group.id);
          finishCycle();
          await sleep(this.retryDelayMs);
          delivered = true; // retry without waiting for new data
          continue;
        }
        delivered = true;
        const next = from + records.length;
        if (replay) {
          replay.next = next; // replayed records are not committed
          continue;
        }
        this.group.committed.set(tpKey(topic, partition), next);
        this.transport.trim(topic, partition);
      }
      rotate++;
      finishCycle();
      if (!delivered && !this.#paused && !this.#stopped) await this.#waitForData();
    }
  }

  /** The partition's rebuild still to do (rebuildOnAssign), or undefined once it is done or nothing is retained. */
  #replayOf(topic: string, partition: number, log: PartitionLog): { next: number; until: number } | undefined {
    const key = tpKey(topic, partition);
    const replay = this.#replay.get(key);
    if (replay && Math.max(replay.next, log.base) >= replay.until) this.#replay.delete(key);
    return this.#replay.get(key);
  }

  #waitForData(): Promise<void> {
    const waits = this.assigned.map(({ topic, partition }) => this.transport.topic(topic)[partition]!.changed());
    const kicked = new Promise<void>((resolve) => (this.#kick = resolve));
    return Promise.race([...waits, kicked]);
  }

  /** Stops taking new batches and waits for the one in flight. */
  async pause(): Promise<void> {
    this.#paused = true;
    this.#kick?.();
    await this.#idle;
  }

  resume(): void {
    this.#paused = false;
    this.#resume?.();
    this.#resume = null;
  }

  async reassign(next: TopicPartition[]): Promise<void> {
    const has = (list: TopicPartition[], tp: TopicPartition) => list.some((x) => x.topic === tp.topic && x.partition === tp.partition);
    const revoked = this.assigned.filter((tp) => !has(next, tp));
    const gained = next.filter((tp) => !has(this.assigned, tp));
    if (revoked.length > 0) await this.options.onRevoked?.(revoked);
    for (const { topic, partition } of revoked) this.#replay.delete(tpKey(topic, partition));
    this.assigned = next;
    if (gained.length > 0) await this.options.onAssigned?.(gained);
    if (this.options.rebuildOnAssign) {
      // Rebuild what is still retained below the group's committed position (usually trimmed already),
      // from where the member's restored state ends (rebuildFrom), if it says.
      for (const tp of gained) {
        const until = this.group.committed.get(tpKey(tp.topic, tp.partition));
        if (until === undefined) continue;
        const from = Math.max(this.transport.topic(tp.topic)[tp.partition]!.base, (await this.options.rebuildFrom?.(tp)) ?? 0);
        if (from < until) this.#replay.set(tpKey(tp.topic, tp.partition), { next: from, until });
      }
    }
  }

  async lag(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const { topic, partition } of this.assigned) {
      const log = this.transport.topic(topic)[partition]!;
      out[topic] = (out[topic] ?? 0) + (log.end - this.group.position(topic, partition, this.#fromBeginning));
    }
    return out;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    await this.pause();
    this.#stopped = true;
    this.resume();
    await this.#loop;
    const index = this.group.members.indexOf(this);
    if (index >= 0) this.group.members.splice(index, 1);
    await this.reassign([]);
    if (this.group.members.length > 0) await this.group.rebalance();
    this.transport.afterMembershipChange();
  }
}

/**
 * The in-process log: the embedded default. Partitions, keyed placement, consumer groups with
 * committed positions and at-least-once delivery behave as on Kafka; nothing survives the process.
 */
export class MemoryTransport implements StreamTransport {
  readonly name = 'memory';
  readonly durable = false;
  readonly #topics = new Map<string, PartitionLog[]>();
  readonly #groups = new Map<string, Group>();
  readonly #o: typeof MEMORY_TRANSPORT_DEFAULTS;

  constructor(readonly options: MemoryTransportOptions = {}) {
    this.#o = withDefaults(MEMORY_TRANSPORT_DEFAULTS, options);
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
    for (const group of this.#groups.values()) {
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
    for (const group of this.#groups.values()) {
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

  async consume(options: ConsumerOptions): Promise<Consumer> {
    for (const topic of options.topics) this.topic(topic);
    let group = this.#groups.get(options.groupId);
    if (!group) this.#groups.set(options.groupId, (group = new Group(options.groupId, this)));
    const member = new Member(group, options, this, this.#o.retryDelayMs);
    group.members.push(member);
    member.start();
    await group.rebalance();
    return member;
  }

  async close(): Promise<void> {
    for (const group of this.#groups.values()) for (const member of [...group.members]) await member.stop();
  }
}
