import { setTimeout as sleep } from 'node:timers/promises';
import {
  PartitionAssigners,
  type Admin,
  type Consumer as KafkaJsConsumer,
  type EachBatchPayload,
  type IHeaders,
  type Kafka,
  type KafkaMessage,
} from 'kafkajs';
import { withDefaults } from '../../defaults.js';
import { stickyAssigner } from './sticky-assigner.js';
import { CONSUMER_DEFAULTS, type Batch, type Consumer, type ConsumerOptions, type StreamRecord, type TopicPartition } from '../types.js';

/** What a group member needs from its transport. */
export interface MemberContext {
  kafka: Kafka;
  admin(): Promise<Admin>;
  onError(error: unknown, context: { groupId: string; batch?: Batch; phase: 'batch' | 'assigned' | 'revoked' | 'crash' | 'stop' }): void;
  retryDelayMs: number;
  maxWaitMs: number;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  joinTimeoutMs: number;
  forget(member: KafkaMember): void;
}

const same = (a: TopicPartition, b: TopicPartition) => a.topic === b.topic && a.partition === b.partition;
const minus = (a: TopicPartition[], b: TopicPartition[]) => a.filter((x) => !b.some((y) => same(x, y)));
const tpKey = ({ topic, partition }: TopicPartition) => `${topic}\u0000${partition}`;

/** rebuildOnAssign: an owned partition's rebuild. */
interface Rebuild {
  topic: string;
  partition: number;
  /** The group's committed offset when this member gained the partition: records below it are replayed, never committed. */
  until: number;
  /** Where the replay continues (the fetch position kafkajs should be at); null once it reached `until`. */
  next: number | null;
}

function headerValue(value: IHeaders[string]): string | undefined {
  if (value === undefined) return undefined;
  const last = Array.isArray(value) ? value[value.length - 1] : value;
  return last === undefined ? undefined : last.toString();
}

export function toRecord(topic: string, partition: number, message: KafkaMessage): StreamRecord {
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(message.headers ?? {})) {
    const text = headerValue(value);
    if (text !== undefined) headers[key] = text;
  }
  return {
    topic,
    partition,
    offset: Number(message.offset),
    key: message.key === null || message.key === undefined ? null : message.key.toString(),
    value: message.value ?? Buffer.alloc(0),
    timestamp: Number(message.timestamp),
    headers,
  };
}

/**
 * One member of a consumer group, on one kafkajs consumer. Batches are handed to `onBatch` one at
 * a time (split to `maxBatchSize`); a batch's offset is committed only after `onBatch` resolved;
 * a batch whose handler threw is delivered again after `retryDelayMs` (heartbeating meanwhile, so
 * the member keeps its partitions), unless the member stops or loses the partition, in which case
 * the uncommitted batch goes to whoever owns the partition next.
 *
 * rebuildOnAssign: after onAssigned for gained partitions, the group's committed offset (`until`)
 * and the earliest retained offset are looked up; the replay starts there, or at `rebuildFrom`'s
 * offset if later (a restored snapshot); if that start < until, the partition is sought to it
 * and records below `until` are delivered as `replay: true` batches, resolved (so the
 * fetch position advances) but never committed. kafkajs runs with autoCommit off, so only the
 * explicit commits of normal batches reach the group. kafkajs restarts a retained partition at its
 * committed offset after every rejoin, so a rebuild in progress is sought again on GROUP_JOIN.
 */
export class KafkaMember implements Consumer {
  readonly #consumer: KafkaJsConsumer;
  #assigned: TopicPartition[] = [];
  /** onRevoked/onAssigned calls, in order; batches wait for it. */
  #callbacks: Promise<void> = Promise.resolve();
  /** Scheduled rebalance callbacks not finished yet. */
  #pending = 0;
  #joined!: { resolve: () => void; reject: (error: unknown) => void; promise: Promise<void> };
  #hasJoined = false;
  #stopping = false;
  #stopped: Promise<void> | null = null;
  #inflight: Promise<void> | null = null;
  readonly #rebuilds = new Map<string, Rebuild>();
  readonly #fromBeginning: boolean;
  readonly #maxBatchSize: number;
  readonly #sessionTimeoutMs: number;
  readonly #heartbeatIntervalMs: number;
  /** When the group last answered this member (a join or a heartbeat): the start of what `holds` trusts. */
  #heardAt = -Infinity;

  constructor(
    readonly options: ConsumerOptions,
    readonly ctx: MemberContext,
  ) {
    const { fromBeginning, maxBatchSize } = withDefaults(CONSUMER_DEFAULTS, options);
    this.#fromBeginning = fromBeginning;
    this.#maxBatchSize = maxBatchSize;
    this.#sessionTimeoutMs = options.sessionTimeoutMs ?? ctx.sessionTimeoutMs;
    // A shorter session needs heartbeats often enough that a live member is never taken for dead.
    this.#heartbeatIntervalMs = Math.min(ctx.heartbeatIntervalMs, Math.floor(this.#sessionTimeoutMs / 5));
    this.#consumer = ctx.kafka.consumer({
      groupId: options.groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: this.#sessionTimeoutMs,
      heartbeatInterval: this.#heartbeatIntervalMs,
      // Round robin stays as the fallback both sides know (a member of an older version in the group).
      ...(options.sticky
        ? { partitionAssigners: [stickyAssigner(() => this.#assigned.filter((tp) => this.holds(tp))), PartitionAssigners.roundRobin] }
        : {}),
      maxWaitTimeInMs: ctx.maxWaitMs,
    });
    let resolve!: () => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    promise.catch(() => {});
    this.#joined = { resolve, reject, promise };
    const { GROUP_JOIN, HEARTBEAT, CRASH } = this.#consumer.events;
    this.#consumer.on(GROUP_JOIN, ({ payload }) => {
      this.#heardAt = Date.now();
      this.#onJoin(payload.memberAssignment);
    });
    this.#consumer.on(HEARTBEAT, () => (this.#heardAt = Date.now()));
    this.#consumer.on(CRASH, ({ payload }) => {
      this.ctx.onError(payload.error, { groupId: options.groupId, phase: 'crash' });
      if (!this.#hasJoined && !payload.restart) this.#joined.reject(payload.error);
    });
  }

  get assigned(): TopicPartition[] {
    return [...this.#assigned];
  }

  /** Joins the group; resolves once this member has its first assignment and onAssigned ran for it. */
  async start(): Promise<void> {
    const { groupId, topics } = this.options;
    let timer: NodeJS.Timeout | undefined;
    try {
      await this.#consumer.connect();
      await this.#consumer.subscribe({ topics, fromBeginning: this.#fromBeginning });
      await this.#consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: (payload) => this.#track(this.#eachBatch(payload)),
      });
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`consumer group ${groupId}: not joined within ${this.ctx.joinTimeoutMs} ms`)),
          this.ctx.joinTimeoutMs,
        );
      });
      await Promise.race([this.#joined.promise, timeout]);
    } catch (error) {
      this.#assigned = []; // never handed over (or not restored): no onRevoked for them
      await this.stop();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  #track(work: Promise<void>): Promise<void> {
    this.#inflight = work;
    return work.finally(() => {
      if (this.#inflight === work) this.#inflight = null;
    });
  }

  #onJoin(assignment: Record<string, number[]>): void {
    const next: TopicPartition[] = Object.entries(assignment)
      .flatMap(([topic, partitions]) => partitions.map((partition) => ({ topic, partition })))
      .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
    const revoked = minus(this.#assigned, next);
    const gained = minus(next, this.#assigned);
    this.#assigned = next;
    const first = !this.#hasJoined;
    this.#hasJoined = true;
    for (const tp of revoked) this.#rebuilds.delete(tpKey(tp));
    // A rejoin (rebalance, restart after a crash) puts a retained partition back at its committed offset: resume its replay.
    for (const rebuild of this.#rebuilds.values()) if (rebuild.next !== null) this.#seek(rebuild, rebuild.next);
    if (this.#stopping) return;
    this.#pending++;
    const run = this.#callbacks
      .then(async () => {
        if (revoked.length > 0) await this.#retrying('revoked', () => this.options.onRevoked?.(revoked));
        if (gained.length === 0) return;
        // The first assignment's failure fails consume(); later ones are retried (state restore must not be skipped).
        if (first) await this.options.onAssigned?.(gained);
        else await this.#retrying('assigned', () => this.options.onAssigned?.(gained));
        if (!this.options.rebuildOnAssign) return;
        if (first) await this.#planRebuilds(gained);
        else await this.#retrying('assigned', () => this.#planRebuilds(gained));
      })
      .finally(() => this.#pending--);
    this.#callbacks = run.catch((error: unknown) => this.ctx.onError(error, { groupId: this.options.groupId, phase: 'assigned' }));
    if (first) run.then(this.#joined.resolve, this.#joined.reject);
  }

  /** Runs a rebalance callback until it succeeds or the member stops (state restore must not be skipped). */
  async #retrying(phase: 'assigned' | 'revoked', callback: () => Promise<void> | void): Promise<void> {
    for (;;) {
      try {
        await callback();
        return;
      } catch (error) {
        this.ctx.onError(error, { groupId: this.options.groupId, phase });
        if (this.#stopping) return;
        await sleep(this.ctx.retryDelayMs);
      }
    }
  }

  /** Looks up the committed and earliest offsets of gained partitions and seeks those with records to replay. */
  async #planRebuilds(gained: TopicPartition[]): Promise<void> {
    const admin = await this.ctx.admin();
    const topics = [...new Set(gained.map((tp) => tp.topic))];
    const committed = await admin.fetchOffsets({ groupId: this.options.groupId, topics });
    for (const topic of topics) {
      const offsets = await admin.fetchTopicOffsets(topic);
      for (const { partition } of gained.filter((tp) => tp.topic === topic)) {
        const tp = { topic, partition };
        if (!this.#assigned.some((x) => same(x, tp))) continue; // lost again meanwhile
        const until = Number(committed.find((c) => c.topic === topic)?.partitions.find((p) => p.partition === partition)?.offset ?? -1);
        const low = offsets.find((o) => o.partition === partition)?.low;
        if (until < 0 || low === undefined) continue; // no committed position: nothing to rebuild
        const from = Math.max(Number(low), (await this.options.rebuildFrom?.(tp)) ?? 0);
        const rebuild: Rebuild = { topic, partition, until, next: from < until ? from : null };
        this.#rebuilds.set(tpKey(tp), rebuild);
        if (rebuild.next !== null) this.#seek(tp, rebuild.next);
      }
    }
  }

  #seek({ topic, partition }: TopicPartition, offset: number): void {
    try {
      this.#consumer.seek({ topic, partition, offset: String(offset) });
    } catch (error) {
      // Only between a crash and kafkajs's restart (no consumer group); the restart's GROUP_JOIN seeks again.
      this.ctx.onError(error, { groupId: this.options.groupId, phase: 'assigned' });
    }
  }

  /**
   * A partition being rebuilt arrived from another position than the replay left it at. kafkajs does
   * that on OFFSET_OUT_OF_RANGE (retention deleted the records being replayed): it commits its
   * default offset (earliest/latest) for the group and fetches from there. Then put the group's
   * position back to `until`, and resume the replay at the earliest record still retained. Returns
   * whether to go on with this batch.
   */
  async #recover(rebuild: Rebuild, fetched: number, commit: EachBatchPayload['commitOffsetsIfNecessary']): Promise<boolean> {
    const { topic, partition, until } = rebuild;
    const admin = await this.ctx.admin();
    const committed = await admin.fetchOffsets({ groupId: this.options.groupId, topics: [topic] });
    const at = Number(committed[0]?.partitions.find((p) => p.partition === partition)?.offset ?? -1);
    let resume = fetched;
    if (at !== until) {
      await commit({ topics: [{ topic, partitions: [{ partition, offset: String(until) }] }] });
      const low = Number((await admin.fetchTopicOffsets(topic)).find((o) => o.partition === partition)?.low ?? fetched);
      resume = Math.max(rebuild.next ?? until, low);
    } // else it moved over records that are not delivered (e.g. transaction markers): go on from there
    rebuild.next = resume < until ? resume : null;
    if (resume === fetched) return true;
    this.#seek(rebuild, resume);
    return false;
  }

  // kafkajs passes these as closures over the batch; its types declare them as methods.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  async #eachBatch({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }: EachBatchPayload): Promise<void> {
    // onRevoked/onAssigned for the current assignment first; keep heartbeating while they run.
    while (this.#pending > 0) {
      await Promise.race([this.#callbacks, sleep(1000)]);
      if (this.#stopping || !isRunning()) return;
      await heartbeat();
    }
    const { topic, partition } = batch;
    const rebuild = this.#rebuilds.get(tpKey({ topic, partition }));
    if (rebuild && rebuild.next !== null && !isStale() && !this.#stopping && isRunning()) {
      const fetched = Number((batch as { fetchedOffset?: string }).fetchedOffset ?? batch.firstOffset() ?? rebuild.next);
      if (fetched !== rebuild.next) {
        try {
          if (!(await this.#recover(rebuild, fetched, commitOffsetsIfNecessary))) return;
        } catch (error) {
          this.ctx.onError(error, { groupId: this.options.groupId, phase: 'batch' });
          await sleep(this.ctx.retryDelayMs); // nothing resolved: the same records come again
          return;
        }
      }
    }
    const records = batch.messages.map((message) => toRecord(topic, partition, message));
    const max = Math.max(1, this.#maxBatchSize);
    // Records below the committed offset at assignment are replay: delivered, resolved, never committed.
    let split = 0;
    while (rebuild && split < records.length && records[split]!.offset < rebuild.until) split++;
    const chunks: Batch[] = [];
    for (let i = 0; i < split; i += max)
      chunks.push({ topic, partition, records: records.slice(i, Math.min(i + max, split)), replay: true });
    for (let i = split; i < records.length; i += max) chunks.push({ topic, partition, records: records.slice(i, i + max) });
    const lastMessage = records[records.length - 1]?.offset;
    for (const chunk of chunks) {
      for (;;) {
        // Not ours any more, or stopping: leave the rest uncommitted for the next owner.
        if (this.#stopping || !isRunning() || isStale()) return;
        try {
          await this.options.onBatch(chunk);
          break;
        } catch (error) {
          this.ctx.onError(error, { groupId: this.options.groupId, batch: chunk, phase: 'batch' });
          const until = Date.now() + this.ctx.retryDelayMs;
          while (Date.now() < until && !this.#stopping && isRunning()) {
            await sleep(Math.min(500, until - Date.now()));
            await heartbeat();
          }
        }
      }
      const last = chunk.records[chunk.records.length - 1]!.offset;
      resolveOffset(String(last));
      if (chunk.replay) {
        // kafkajs resolves past trailing control records when the batch's last message is resolved.
        const position = (last === lastMessage ? Number(batch.lastOffset()) : last) + 1;
        rebuild!.next = position < rebuild!.until ? position : null;
      } else {
        if (rebuild) rebuild.next = null;
        await commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: String(last + 1) }] }] });
      }
      await heartbeat();
    }
  }

  /**
   * The group restarts a member's session timer when it receives the member's heartbeat, which is
   * before the answer arrives here: a heartbeat interval of margin covers that round trip.
   */
  holds(partition: TopicPartition): boolean {
    if (this.#stopping || !this.#assigned.some((tp) => same(tp, partition))) return false;
    return Date.now() - this.#heardAt < this.#sessionTimeoutMs - this.#heartbeatIntervalMs;
  }

  async lag(): Promise<Record<string, number>> {
    const owned = this.#assigned;
    const topics = [...new Set(owned.map((tp) => tp.topic))];
    if (topics.length === 0) return {};
    const admin = await this.ctx.admin();
    const committed = await admin.fetchOffsets({ groupId: this.options.groupId, topics });
    const out: Record<string, number> = {};
    for (const topic of topics) {
      const ends = await admin.fetchTopicOffsets(topic);
      const positions = committed.find((c) => c.topic === topic)?.partitions ?? [];
      for (const { partition } of owned.filter((tp) => tp.topic === topic)) {
        const end = ends.find((e) => e.partition === partition);
        if (!end) continue;
        const high = Number(end.high);
        const at = Number(positions.find((p) => p.partition === partition)?.offset ?? -1);
        const position = at >= 0 ? at : this.#fromBeginning ? Number(end.low) : high;
        out[topic] = (out[topic] ?? 0) + Math.max(0, high - Math.max(position, Number(end.low)));
      }
    }
    return out;
  }

  /** Finishes the batch in flight (committing it), calls onRevoked for everything owned, leaves the group. */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    this.#stopping = true;
    try {
      await this.#inflight?.catch(() => {});
      await this.#callbacks;
      const revoked = this.#assigned;
      this.#assigned = [];
      if (revoked.length > 0 && this.#hasJoined) {
        try {
          await this.options.onRevoked?.(revoked);
        } catch (error) {
          this.ctx.onError(error, { groupId: this.options.groupId, phase: 'revoked' });
        }
      }
      await this.#consumer.stop();
      await this.#consumer.disconnect();
    } catch (error) {
      this.ctx.onError(error, { groupId: this.options.groupId, phase: 'stop' });
    } finally {
      this.ctx.forget(this);
    }
  }
}
