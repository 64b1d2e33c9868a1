import { setTimeout as sleep } from 'node:timers/promises';
import { withDefaults } from '../defaults.js';
import { keepAndShare } from './sticky.js';
import { CONSUMER_DEFAULTS, type Batch, type Consumer, type ConsumerOptions, type StreamRecord, type TopicPartition } from './types.js';

/**
 * Consumer groups of the logs that live in this process (the in-process log and the file log):
 * partitions shared round-robin among a group's members, committed positions, at-least-once
 * delivery and rebuild on assign, as the stream contract (types.ts) says. The log behind them is
 * anything that can say where its partitions begin and end and read a range of one.
 */
export interface GroupPartition {
  /** Offset of the earliest retained record. */
  readonly base: number;
  /** Offset the next append gets. */
  readonly end: number;
  /**
   * Up to `max` records with offsets in [from, until), in order; `next` is where the following
   * read starts (a compacted log has gaps, so it is not always from + records.length).
   */
  read(from: number, max: number, until: number): { records: StreamRecord[]; next: number };
  /** Resolves on the next append or trim. */
  changed(): Promise<void>;
}

export interface GroupLog {
  partitions(topic: string): GroupPartition[];
  /** A group moved its committed position on a partition (the in-process log trims; the file log saves it). */
  committed(group: Group, topic: string, partition: number): void;
  /** A member left: wake whatever waits on the log (backpressure counts only active groups). */
  afterMembershipChange(): void;
  /** Called when a batch handler throws; the batch is then delivered again after `retryDelayMs`. */
  onError(error: unknown, batch: Batch, groupId: string): void;
  readonly retryDelayMs: number;
}

export const tpKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

export class Group {
  readonly committed = new Map<string, number>();
  readonly members: Member[] = [];
  #rebalancing: Promise<void> = Promise.resolve();

  constructor(
    readonly id: string,
    readonly log: GroupLog,
  ) {}

  /** Shares the subscribed partitions round-robin among members; waits for in-flight batches first. */
  rebalance(): Promise<void> {
    this.#rebalancing = this.#rebalancing.then(async () => {
      await Promise.all(this.members.map((m) => m.pause()));
      const topics = [...new Set(this.members.flatMap((m) => m.options.topics))].sort();
      const all: TopicPartition[] = topics.flatMap((topic) =>
        Array.from({ length: this.log.partitions(topic).length }, (_, partition) => ({ topic, partition })),
      );
      let next = new Map<Member, TopicPartition[]>(this.members.map((m) => [m, []]));
      if (this.members.length > 0 && this.members.every((m) => m.options.sticky)) {
        const claims = new Map(this.members.map((m) => [m, m.assigned.filter((tp) => m.holds(tp))]));
        next = keepAndShare(all, claims);
      } else
        all.forEach((tp, i) => {
          const candidates = this.members.filter((m) => m.options.topics.includes(tp.topic));
          if (candidates.length > 0) next.get(candidates[i % candidates.length]!)!.push(tp);
        });
      for (const member of this.members) await member.reassign(next.get(member)!);
      for (const member of this.members) member.resume();
    });
    return this.#rebalancing;
  }

  /** Where the group reads a partition next: its committed position (within what is retained), else the beginning or the end. */
  position(topic: string, partition: number, fromBeginning: boolean): number {
    const log = this.log.partitions(topic)[partition]!;
    const pos = this.committed.get(tpKey(topic, partition)) ?? (fromBeginning ? log.base : log.end);
    return Math.min(Math.max(pos, log.base), log.end);
  }
}

export class Member implements Consumer {
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
  ) {
    this.#loop = Promise.resolve();
    const { fromBeginning, maxBatchSize } = withDefaults(CONSUMER_DEFAULTS, options);
    this.#fromBeginning = fromBeginning;
    this.#maxBatchSize = maxBatchSize;
  }

  get #log(): GroupLog {
    return this.group.log;
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
        const log = this.#log.partitions(topic)[partition]!;
        const replay = this.#replayOf(topic, partition, log);
        const from = replay ? Math.max(replay.next, log.base) : this.group.position(topic, partition, this.#fromBeginning);
        if (from >= log.end) continue;
        const { records, next } = log.read(from, maxBatch, replay ? replay.until : log.end);
        if (records.length > 0) {
          const batch: Batch = replay ? { topic, partition, records, replay: true } : { topic, partition, records };
          try {
            await this.options.onBatch(batch);
          } catch (error) {
            this.#log.onError(error, batch, this.group.id);
            finishCycle();
            await sleep(this.#log.retryDelayMs);
            delivered = true; // retry without waiting for new data
            continue;
          }
        }
        delivered = true;
        if (replay) {
          replay.next = next; // replayed records are not committed
          continue;
        }
        this.group.committed.set(tpKey(topic, partition), next);
        this.#log.committed(this.group, topic, partition);
      }
      rotate++;
      finishCycle();
      if (!delivered && !this.#paused && !this.#stopped) await this.#waitForData();
    }
  }

  /** The partition's rebuild still to do (rebuildOnAssign), or undefined once it is done or nothing is retained. */
  #replayOf(topic: string, partition: number, log: GroupPartition): { next: number; until: number } | undefined {
    const key = tpKey(topic, partition);
    const replay = this.#replay.get(key);
    if (replay && Math.max(replay.next, log.base) >= Math.min(replay.until, log.end)) this.#replay.delete(key);
    return this.#replay.get(key);
  }

  #waitForData(): Promise<void> {
    const waits = this.assigned.map(({ topic, partition }) => this.#log.partitions(topic)[partition]!.changed());
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
    // A group without a position that starts at the end starts at the end as it is now (Kafka's
    // auto.offset.reset=latest), not at wherever the end has moved to by each read.
    for (const { topic, partition } of gained) {
      const key = tpKey(topic, partition);
      if (!this.#fromBeginning && !this.group.committed.has(key))
        this.group.committed.set(key, this.#log.partitions(topic)[partition]!.end);
    }
    if (gained.length > 0) await this.options.onAssigned?.(gained);
    if (this.options.rebuildOnAssign) {
      // Rebuild what is still retained below the group's committed position, from where the
      // member's restored state ends (rebuildFrom), if it says.
      for (const tp of gained) {
        const until = this.group.committed.get(tpKey(tp.topic, tp.partition));
        if (until === undefined) continue;
        const from = Math.max(this.#log.partitions(tp.topic)[tp.partition]!.base, (await this.options.rebuildFrom?.(tp)) ?? 0);
        if (from < until) this.#replay.set(tpKey(tp.topic, tp.partition), { next: from, until });
      }
    }
  }

  holds({ topic, partition }: TopicPartition): boolean {
    return !this.#stopped && this.assigned.some((tp) => tp.topic === topic && tp.partition === partition);
  }

  async lag(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const { topic, partition } of this.assigned) {
      const log = this.#log.partitions(topic)[partition]!;
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
    this.#log.afterMembershipChange();
  }
}

/** The groups of one log, by id. */
export class Groups {
  readonly #groups = new Map<string, Group>();

  constructor(readonly log: GroupLog) {}

  get(groupId: string): Group {
    let group = this.#groups.get(groupId);
    if (!group) this.#groups.set(groupId, (group = new Group(groupId, this.log)));
    return group;
  }

  all(): IterableIterator<Group> {
    return this.#groups.values();
  }

  delete(groupId: string): void {
    this.#groups.delete(groupId);
  }

  /** A new member of `options.groupId`, reading once its group has rebalanced. */
  async join(options: ConsumerOptions): Promise<Consumer> {
    for (const topic of options.topics) this.log.partitions(topic);
    const group = this.get(options.groupId);
    const member = new Member(group, options);
    group.members.push(member);
    member.start();
    await group.rebalance();
    return member;
  }

  async stopAll(): Promise<void> {
    for (const group of this.#groups.values()) for (const member of [...group.members]) await member.stop();
  }
}
