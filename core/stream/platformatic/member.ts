import { setTimeout as sleep } from 'node:timers/promises';
import {
  ConnectionPool,
  Consumer as PlatformaticConsumer,
  ListOffsetTimestamps,
  findErrorBy,
  type fetchV17,
  type GroupAssignment,
  type RecordsBatch,
} from '@platformatic/kafka';

type FetchResponse = fetchV17.FetchResponse;
type FetchRequestTopic = fetchV17.FetchRequestTopic;
import {
  encodeClaim,
  joinMembership,
  samePartition,
  STICKY_PROTOCOL,
  tpKey,
  type GroupContext,
  type Membership,
} from '../kafka-membership.js';
import type { Batch, Consumer, ConsumerOptions, StreamRecord, TopicPartition } from '../types.js';
import { stickyAssigner } from './sticky-assigner.js';

/** What a group member needs from its transport. */
export interface MemberContext extends GroupContext<PlatformaticMember> {
  brokers: string[];
  clientId: string;
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
  /** Largest fetch response per partition (bytes). */
  maxBytesPerPartition: number;
  /** Routes the consumer's connection events to the transport's logger. */
  watch(client: PlatformaticConsumer): void;
}

const IS_CONTROL = 1 << 5;
const OFFSET_OUT_OF_RANGE = 1;
/** How long a rejoin waits for a commit in flight (an answered commit takes milliseconds; a retried one never ends first). */
const COMMIT_IN_FLIGHT_GRACE_MS = 3_000;

/** One fetch's result: each partition's record batches and the offset they were fetched from. */
interface Fetched {
  /** The member's assignment generation when it was made: a later one makes it void. */
  generation: number;
  records: { partition: TopicPartition; from: bigint; batches: RecordsBatch[] }[];
  outOfRange: { partition: TopicPartition; from: bigint }[];
}

/** Where the next fetch of a partition starts: after the last batch (control batches included). */
function endOf(batches: RecordsBatch[], from: bigint): bigint {
  let end = from;
  for (const batch of batches) {
    const next = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n;
    if (next > end) end = next;
  }
  return end;
}

function toRecord(topic: string, partition: number, batch: RecordsBatch, record: RecordsBatch['records'][number]): StreamRecord {
  const headers: Record<string, string> = {};
  for (const [key, value] of record.headers) if (key !== null && value !== null) headers[key.toString()] = value.toString();
  return {
    topic,
    partition,
    offset: Number(batch.firstOffset) + record.offsetDelta,
    key: record.key === null ? null : record.key.toString(),
    value: record.value ?? Buffer.alloc(0),
    timestamp: Number(batch.firstTimestamp + record.timestampDelta),
    headers,
  };
}

/**
 * One member of a consumer group on @platformatic/kafka. The library keeps the membership (join,
 * sync, heartbeats in the background, rejoin on a rebalance); the fetching is ours, one fetch at a
 * time from each partition's own position, so a batch is committed only after `onBatch` resolved,
 * and a rebuild is a position below the committed offset (nothing is ever committed for it).
 *
 * Handover: before every JoinGroup the library asks for the member's protocol metadata; that hook
 * waits for the batch in flight, so a partition is given up only after its last batch was handled
 * and its commit sent, as on kafkajs. Retained partitions keep their positions across a
 * rebalance (a rebuild in progress goes on); gained ones start at the group's committed offset.
 */
export class PlatformaticMember implements Consumer {
  readonly #consumer: PlatformaticConsumer;
  /** Fetches on connections of their own: a fetch waiting for data must not hold up a commit or heartbeat behind it. */
  readonly #fetchPool: ConnectionPool;
  readonly #group: Membership;
  /** Next offset to fetch, per owned partition whose start is known. */
  readonly #positions = new Map<string, bigint>();
  /** rebuildOnAssign: partitions being replayed, with the committed offset at assignment (excluded). */
  readonly #rebuilds = new Map<string, bigint>();
  /** Offsets of handled batches not yet committed (a commit that failed is sent again). */
  readonly #toCommit = new Map<string, { topic: string; partition: number; offset: bigint; leaderEpoch: number }>();
  #generation = 0;
  /** A JoinGroup is about to be sent: deliver nothing more until the join completes. */
  #joining = false;
  /** The batch in flight: its handler, then its commit. */
  #delivering: Promise<boolean> | null = null;
  #committing = false;
  #flushing: Promise<void> = Promise.resolve();
  #loop: Promise<void> | null = null;
  /** The fetch made ahead, if any (awaited before the consumer closes). */
  #ahead: Promise<unknown> | null = null;
  #wake: () => void = () => {};

  constructor(
    readonly options: ConsumerOptions,
    readonly ctx: MemberContext,
  ) {
    this.#group = joinMembership(options, ctx);
    const { timings } = this.#group;
    this.#consumer = new PlatformaticConsumer({
      clientId: ctx.clientId,
      bootstrapBrokers: ctx.brokers,
      groupId: options.groupId,
      autocommit: false,
      sessionTimeout: timings.sessionTimeoutMs,
      rebalanceTimeout: Math.max(timings.sessionTimeoutMs, 60_000),
      heartbeatInterval: timings.heartbeatIntervalMs,
      // Sticky: one protocol, named as kafkajs's, so members of both clients can share a sticky group.
      ...(options.sticky ? { protocols: [{ name: STICKY_PROTOCOL, version: 0 }], partitionAssigner: stickyAssigner } : {}),
      maxWaitTime: ctx.maxWaitMs,
      maxBytesPerPartition: ctx.maxBytesPerPartition,
      connectTimeout: ctx.connectionTimeoutMs,
      timeout: ctx.requestTimeoutMs,
      retries: 3,
      retryDelay: ctx.retryDelayMs,
      // Called before each JoinGroup (the first and every rejoin): hand over only after the batch in flight.
      // A commit the library retries after rejoining comes here too: it must not wait for itself.
      // Sticky: then claim what this member still holds (its user data, read by stickyAssigner).
      protocolsMetadata: async () => {
        this.#joining = true;
        this.#wake();
        await this.#delivering?.catch(() => {});
        if (!this.#committing) await this.#flushCommits();
        // A commit in flight is waited for too, or the next owner starts before its offsets (seen
        // as a partition handed over with 40 records handled and 20 committed), but only for a
        // while: it may be the library's own retry, which joins first and waits for this very call.
        else await Promise.race([this.#flushing, sleep(COMMIT_IN_FLIGHT_GRACE_MS, undefined, { ref: false })]);
        return options.sticky ? encodeClaim(this.#group.held()) : Buffer.alloc(0);
      },
    });
    this.#fetchPool = new ConnectionPool(ctx.clientId, { connectTimeout: ctx.connectionTimeoutMs, requestTimeout: ctx.requestTimeoutMs });
    ctx.watch(this.#consumer);
    this.#consumer.on('consumer:group:join', ({ assignments }) => {
      this.#group.heard();
      this.#onJoin(assignments ?? []);
    });
    // Emitted for answered heartbeats only (a failed one is 'consumer:heartbeat:error').
    this.#consumer.on('consumer:heartbeat:end', () => this.#group.heard());
    // A rejoin that failed for good (e.g. the broker away longer than the retries): join again ourselves.
    this.#consumer.on('error', (error: unknown) => {
      this.ctx.onError(error, { groupId: options.groupId, phase: 'crash' });
      if (this.#group.hasJoined) void this.#rejoin();
    });
  }

  get assigned(): TopicPartition[] {
    return [...this.#group.assigned];
  }

  /** Joins the group; resolves once this member has its first assignment and onAssigned ran for it. */
  async start(): Promise<void> {
    try {
      this.#consumer.topics.trackAll(...this.options.topics);
      this.#consumer.joinGroup({}).catch((error: unknown) => this.#group.failJoin(error));
      await this.#group.joinedWithin(this.ctx.joinTimeoutMs);
      this.#loop = this.#run();
    } catch (error) {
      this.#group.assigned = []; // never handed over (or not restored): no onRevoked for them
      await this.stop();
      throw error;
    }
  }

  async #rejoin(): Promise<void> {
    while (!this.#group.stopping) {
      await sleep(this.ctx.retryDelayMs);
      if (this.#group.stopping || this.#consumer.isActive()) return;
      try {
        await this.#consumer.joinGroup({});
        return;
      } catch (error) {
        this.ctx.onError(error, { groupId: this.options.groupId, phase: 'crash' });
      }
    }
  }

  #onJoin(assignments: GroupAssignment[]): void {
    this.#generation++;
    this.#joining = false;
    this.#group.assign(
      assignments.flatMap(({ topic, partitions }) => partitions.map((partition) => ({ topic, partition }))),
      {
        lost: (revoked) => {
          for (const tp of revoked) {
            this.#positions.delete(tpKey(tp));
            this.#rebuilds.delete(tpKey(tp));
            this.#toCommit.delete(tpKey(tp));
          }
        },
        prepare: (gained) => this.#startPositions(gained),
        settled: () => this.#wake(),
      },
    );
    this.#wake();
  }

  /** Each partition's offsets: committed by the group, earliest and end (`-1n` where unknown). */
  async #offsets(partitions: TopicPartition[]): Promise<Map<string, { committed: bigint; low: bigint; high: bigint }>> {
    const byTopic = new Map<string, number[]>();
    for (const { topic, partition } of partitions) byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
    const topics = [...byTopic.keys()];
    const wanted = Object.fromEntries(byTopic);
    const [committed, low, high] = await Promise.all([
      this.#consumer.listCommittedOffsets({ topics: [...byTopic].map(([topic, list]) => ({ topic, partitions: list })) }),
      this.#consumer.listOffsets({ topics, partitions: wanted, timestamp: ListOffsetTimestamps.EARLIEST }),
      this.#consumer.listOffsets({ topics, partitions: wanted, timestamp: ListOffsetTimestamps.LATEST }),
    ]);
    const out = new Map<string, { committed: bigint; low: bigint; high: bigint }>();
    for (const tp of partitions)
      out.set(tpKey(tp), {
        committed: committed.get(tp.topic)?.[tp.partition] ?? -1n,
        low: low.get(tp.topic)?.[tp.partition] ?? -1n,
        high: high.get(tp.topic)?.[tp.partition] ?? -1n,
      });
    return out;
  }

  /**
   * Where gained partitions start: the group's committed offset, else the earliest or the end. With
   * rebuildOnAssign, a partition with records below its committed offset starts lower, at the earliest
   * record or at `rebuildFrom`'s offset if later, and is replayed up to the committed offset.
   */
  async #startPositions(gained: TopicPartition[]): Promise<void> {
    const offsets = await this.#offsets(gained);
    for (const tp of gained) {
      if (!this.#group.assigned.some((x) => samePartition(x, tp))) continue; // lost again meanwhile
      const { committed, low, high } = offsets.get(tpKey(tp))!;
      let start = committed >= 0n ? committed : this.#group.fromBeginning ? low : high;
      if (this.options.rebuildOnAssign && committed >= 0n) {
        const requested = await this.options.rebuildFrom?.(tp);
        const from = requested !== undefined && BigInt(requested) > low ? BigInt(requested) : low;
        if (from < committed) {
          this.#rebuilds.set(tpKey(tp), committed);
          start = from;
        }
      }
      this.#positions.set(tpKey(tp), start);
    }
  }

  /** Waits for a change (an assignment, a stop) or a short while. */
  async #idle(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#wake = () => {};
  }

  /**
   * Fetch, hand the records over, commit; while one fetch's records are handled, the next fetch is
   * already on its way, from where they end (kept only for partitions whose position is still the
   * one it was made from: a handover or stop in between drops it).
   */
  async #run(): Promise<void> {
    let ahead: Promise<Fetched> | null = null;
    while (!this.#group.stopping) {
      const owned = this.#group.assigned.filter((tp) => this.#positions.has(tpKey(tp)));
      if (this.#joining || this.#group.pending > 0 || owned.length === 0) {
        ahead = null;
        await this.#idle(100);
        continue;
      }
      try {
        await this.#flushCommits();
        const generation = this.#generation;
        const fetched = await (ahead ?? this.#fetch(owned, new Map(this.#positions), generation));
        ahead = null;
        if (fetched.generation !== this.#generation || this.#joining) continue; // the assignment changed meanwhile
        const current = (d: { partition: TopicPartition; from: bigint }) => this.#positions.get(tpKey(d.partition)) === d.from;
        const gone = fetched.outOfRange.filter(current).map((d) => d.partition);
        if (gone.length > 0) {
          await this.#outOfRange(gone);
          continue;
        }
        const next = new Map(this.#positions);
        for (const d of fetched.records) if (current(d)) next.set(tpKey(d.partition), endOf(d.batches, d.from));
        // Not while rebuilding: a replay reads from exactly where it is (records retention removed meanwhile are not handed over).
        if (this.#rebuilds.size === 0) {
          ahead = this.#fetch(owned, next, generation);
          this.#ahead = ahead.catch(() => undefined);
        }
        for (const d of fetched.records) {
          if (current(d) && !(await this.#deliver(d.partition, d.batches, generation))) break;
        }
        // One commit for the whole fetch: a round trip per batch would bound the throughput by the broker's latency.
        await this.#flushCommits();
      } catch (error) {
        ahead = null;
        if (this.#group.stopping) break;
        this.ctx.onError(error, { groupId: this.options.groupId, phase: 'crash' });
        await this.#idle(this.ctx.retryDelayMs);
      }
    }
  }

  /** One fetch of `owned` partitions, each from its leader, from the offsets in `from`. */
  async #fetch(owned: TopicPartition[], from: Map<string, bigint>, generation: number): Promise<Fetched> {
    const topics = [...new Set(owned.map((tp) => tp.topic))];
    const metadata = await this.#consumer.metadata({ topics });
    const byNode = new Map<number, FetchRequestTopic[]>();
    const names = new Map<string, string>();
    for (const tp of owned) {
      const topic = metadata.topics.get(tp.topic)!;
      names.set(topic.id, tp.topic);
      const leader = topic.partitions[tp.partition]!.leader;
      const requests = byNode.get(leader) ?? [];
      byNode.set(leader, requests);
      requests.push({
        topicId: topic.id,
        partitions: [
          {
            partition: tp.partition,
            fetchOffset: from.get(tpKey(tp))!,
            partitionMaxBytes: this.ctx.maxBytesPerPartition,
            currentLeaderEpoch: -1,
            lastFetchedEpoch: -1,
          },
        ],
      });
    }
    const out: Fetched = { generation, records: [], outOfRange: [] };
    await Promise.all(
      [...byNode].map(async ([node, requests]) => {
        let response: FetchResponse;
        try {
          response = await this.#consumer.fetch({ node, topics: requests, connectionPool: this.#fetchPool });
        } catch (error) {
          // A partition's error fails the whole fetch; its response still holds every partition.
          const partial = (findErrorBy(error as Error, 'code', 'PLT_KFK_RESPONSE') as { response?: FetchResponse } | null)?.response;
          if (!partial || !findErrorBy(error as Error, 'apiId', 'OFFSET_OUT_OF_RANGE')) throw error;
          response = partial;
        }
        for (const topicResponse of response.responses) {
          const topic = names.get(topicResponse.topicId) ?? topicResponse.topicId;
          for (const p of topicResponse.partitions) {
            const partition = { topic, partition: p.partitionIndex };
            const offset = from.get(tpKey(partition));
            if (offset === undefined) continue;
            if (p.errorCode === OFFSET_OUT_OF_RANGE) out.outOfRange.push({ partition, from: offset });
            else if (p.errorCode === 0 && p.records && p.records.length > 0)
              out.records.push({ partition, from: offset, batches: p.records });
          }
        }
      }),
    );
    return out;
  }

  /**
   * Positions that are gone (retention deleted the records, or the committed offset is past the
   * end). A rebuild goes on from the earliest record still retained; normal delivery restarts at
   * the earliest or the end as for a group without a committed offset. Nothing is committed for it.
   */
  async #outOfRange(partitions: TopicPartition[]): Promise<void> {
    const offsets = await this.#offsets(partitions);
    for (const tp of partitions) {
      const key = tpKey(tp);
      const position = this.#positions.get(key);
      const { low, high } = offsets.get(key)!;
      if (position === undefined || low < 0n) continue;
      const until = this.#rebuilds.get(key);
      if (until !== undefined && position < low) {
        if (low >= until) this.#rebuilds.delete(key);
        this.#positions.set(key, low < until ? low : until);
      } else this.#positions.set(key, position < low || this.#group.fromBeginning ? low : high);
    }
  }

  /**
   * Hands one partition's fetched records to onBatch in batches of at most maxBatchSize: replay
   * batches first (offsets below the rebuild's end), then normal ones, each committed after its
   * handler resolved. A failed handler is retried. Returns false when delivery must stop (stopping,
   * a rejoin coming, or the partition no longer this member's): the position is left after the last
   * handled batch, so the rest is fetched again by whoever owns the partition.
   */
  async #deliver(tp: TopicPartition, batches: RecordsBatch[], generation: number): Promise<boolean> {
    const key = tpKey(tp);
    const from = this.#positions.get(key)!;
    const records: StreamRecord[] = [];
    const end = endOf(batches, from);
    for (const batch of batches) {
      if (batch.attributes & IS_CONTROL) continue;
      for (const record of batch.records)
        if (batch.firstOffset + BigInt(record.offsetDelta) >= from) records.push(toRecord(tp.topic, tp.partition, batch, record));
    }
    const until = this.#rebuilds.get(key);
    let split = 0;
    while (until !== undefined && split < records.length && records[split]!.offset < Number(until)) split++;
    const chunks: Batch[] = [];
    for (let i = 0; i < split; i += this.#group.maxBatchSize)
      chunks.push({ ...tp, records: records.slice(i, Math.min(i + this.#group.maxBatchSize, split)), replay: true });
    for (let i = split; i < records.length; i += this.#group.maxBatchSize)
      chunks.push({ ...tp, records: records.slice(i, i + this.#group.maxBatchSize) });
    const current = () => !this.#group.stopping && !this.#joining && generation === this.#generation;
    for (const chunk of chunks) {
      const last = chunk.records[chunk.records.length - 1]!.offset;
      const work = this.#handle(chunk, chunk === chunks[chunks.length - 1] ? end : BigInt(last + 1), until, current);
      this.#delivering = work;
      try {
        if (!(await work)) return false;
      } finally {
        this.#delivering = null;
      }
    }
    if (chunks.length === 0 && end > from) {
      // Only control records (transaction markers): move over them.
      this.#positions.set(key, until !== undefined && end > until ? until : end);
      if (until !== undefined && end >= until) this.#rebuilds.delete(key);
    }
    return current();
  }

  /**
   * One batch: onBatch until it resolves (false if delivery must stop first), then the partition's
   * position moves to `next` and a normal batch's offset is queued for commit.
   */
  async #handle(chunk: Batch, next: bigint, until: bigint | undefined, current: () => boolean): Promise<boolean> {
    for (;;) {
      if (!current()) return false;
      try {
        await this.options.onBatch(chunk);
        break;
      } catch (error) {
        this.ctx.onError(error, { groupId: this.options.groupId, batch: chunk, phase: 'batch' });
        await this.#idle(this.ctx.retryDelayMs);
      }
    }
    const key = tpKey(chunk);
    if (!this.#positions.has(key)) return false; // handed over meanwhile (a commit's own rejoin)
    this.#positions.set(key, next);
    if (until !== undefined && next >= until) this.#rebuilds.delete(key);
    // Committed after this fetch's batches, or before a handover or stop, whichever comes first.
    if (!chunk.replay) {
      this.#toCommit.set(key, {
        topic: chunk.topic,
        partition: chunk.partition,
        offset: BigInt(chunk.records.at(-1)!.offset + 1),
        leaderEpoch: -1,
      });
    }
    return true;
  }

  /** Commits the queued offsets, after any commit in flight (so a handover waits for that one too). */
  #flushCommits(): Promise<void> {
    const flush = this.#flushing.then(() => this.#commitQueued());
    this.#flushing = flush;
    return flush;
  }

  async #commitQueued(): Promise<void> {
    if (this.#toCommit.size === 0) return;
    const offsets = [...this.#toCommit.values()];
    this.#toCommit.clear();
    this.#committing = true;
    try {
      await this.#consumer.commit({ offsets });
    } catch (error) {
      // Kept for the next try unless a newer offset or a handover replaced it.
      for (const o of offsets) {
        const key = tpKey(o);
        if (!this.#toCommit.has(key) && this.#positions.has(key)) this.#toCommit.set(key, o);
      }
      this.ctx.onError(error, { groupId: this.options.groupId, phase: 'batch' });
    } finally {
      this.#committing = false;
    }
  }

  holds(partition: TopicPartition): boolean {
    return this.#group.holds(partition);
  }

  async lag(): Promise<Record<string, number>> {
    const owned = this.#group.assigned;
    if (owned.length === 0) return {};
    const offsets = await this.#offsets(owned);
    const out: Record<string, number> = {};
    for (const tp of owned) {
      const { committed, low, high } = offsets.get(tpKey(tp))!;
      if (high < 0n) continue;
      const position = committed >= 0n ? committed : this.#group.fromBeginning ? low : high;
      out[tp.topic] = (out[tp.topic] ?? 0) + Math.max(0, Number(high - (position > low ? position : low)));
    }
    return out;
  }

  /** Finishes the batch in flight (committing it), calls onRevoked for everything owned, leaves the group. */
  stop(): Promise<void> {
    return this.#group.stop(
      async () => {
        this.#wake();
        await this.#loop?.catch(() => {});
        await this.#ahead;
        await this.#flushCommits();
        await this.#group.revokeAll();
        await this.#consumer.close();
        await this.#fetchPool.close();
      },
      () => this.ctx.forget(this),
    );
  }
}
