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
import { joinMembership, samePartition, tpKey, type GroupContext, type Membership } from '../kafka-membership.js';
import { stickyAssigner } from './sticky-assigner.js';
import type { Batch, Consumer, ConsumerOptions, StreamRecord, TopicPartition } from '../types.js';

/** What a group member needs from its transport. */
export interface MemberContext extends GroupContext<KafkaMember> {
  kafka: Kafka;
  admin(): Promise<Admin>;
}

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
  readonly #group: Membership;
  #inflight: Promise<void> | null = null;
  readonly #rebuilds = new Map<string, Rebuild>();
  /** A restart after a crash kafkajs does not restart from, when one is due. */
  #restart: NodeJS.Timeout | null = null;

  constructor(
    readonly options: ConsumerOptions,
    readonly ctx: MemberContext,
  ) {
    this.#group = joinMembership(options, ctx);
    const { timings } = this.#group;
    this.#consumer = ctx.kafka.consumer({
      groupId: options.groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: timings.sessionTimeoutMs,
      heartbeatInterval: timings.heartbeatIntervalMs,
      // Round robin stays as the fallback both sides know (a member of an older version in the group).
      ...(options.sticky ? { partitionAssigners: [stickyAssigner(() => this.#group.held()), PartitionAssigners.roundRobin] } : {}),
      maxWaitTimeInMs: ctx.maxWaitMs,
      // kafkajs restarts a crashed consumer only while it first joins (start() fails on what it
      // does not retry); after that every crash is restarted here (#restartLater), whatever kafkajs
      // thinks of the error.
      retry: { retries: 5, restartOnFailure: () => Promise.resolve(!this.#group.hasJoined) },
    });
    const { GROUP_JOIN, HEARTBEAT, CRASH } = this.#consumer.events;
    this.#consumer.on(GROUP_JOIN, ({ payload }) => {
      this.#group.heard();
      this.#onJoin(payload.memberAssignment);
    });
    this.#consumer.on(HEARTBEAT, () => this.#group.heard());
    this.#consumer.on(CRASH, ({ payload }) => {
      this.ctx.onError(payload.error, { groupId: options.groupId, phase: 'crash' });
      if (payload.restart) return;
      if (this.#group.hasJoined) this.#restartLater();
      else this.#group.failJoin(payload.error);
    });
  }

  /**
   * Starts a crashed member again, every `retryDelayMs` until it runs; its next join reassigns its
   * partitions as any rejoin does (`#onJoin`). kafkajs itself would restart only after errors it
   * deems retriable and leave the consumer stopped for good after others, among them "Failed to
   * find group coordinator" when a rejoin meets a broker that is going away: the stage would go on
   * without consuming (CI saw an `api` that never aggregated again after a Kafka outage).
   */
  #restartLater(): void {
    if (this.#group.stopping || this.#restart) return;
    this.#restart = setTimeout(() => {
      this.#restart = null;
      if (this.#group.stopping) return;
      (async () => {
        await this.#consumer.connect();
        // stop() may have come meanwhile: it found nothing running, so nothing may start now.
        if (this.#group.stopping) return this.#consumer.disconnect();
        await this.#run();
      })().catch((error: unknown) => {
        this.ctx.onError(error, { groupId: this.options.groupId, phase: 'crash' });
        this.#restartLater();
      });
    }, this.ctx.retryDelayMs);
  }

  /** Runs the connected consumer (its subscription is kept across a crash); a failed join comes as a CRASH event. */
  async #run(): Promise<void> {
    await this.#consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.#track(this.#eachBatch(payload)),
    });
  }

  get assigned(): TopicPartition[] {
    return [...this.#group.assigned];
  }

  /** Joins the group; resolves once this member has its first assignment and onAssigned ran for it. */
  async start(): Promise<void> {
    const { topics } = this.options;
    try {
      await this.#consumer.connect();
      await this.#consumer.subscribe({ topics, fromBeginning: this.#group.fromBeginning });
      await this.#run();
      await this.#group.joinedWithin(this.ctx.joinTimeoutMs);
    } catch (error) {
      this.#group.assigned = []; // never handed over (or not restored): no onRevoked for them
      await this.stop();
      throw error;
    }
  }

  #track(work: Promise<void>): Promise<void> {
    this.#inflight = work;
    return work.finally(() => {
      if (this.#inflight === work) this.#inflight = null;
    });
  }

  #onJoin(assignment: Record<string, number[]>): void {
    this.#group.assign(
      Object.entries(assignment).flatMap(([topic, partitions]) => partitions.map((partition) => ({ topic, partition }))),
      {
        lost: (revoked) => {
          for (const tp of revoked) this.#rebuilds.delete(tpKey(tp));
          // A rejoin (rebalance, restart after a crash) puts a retained partition back at its committed offset: resume its replay.
          for (const rebuild of this.#rebuilds.values()) if (rebuild.next !== null) this.#seek(rebuild, rebuild.next);
        },
        ...(this.options.rebuildOnAssign ? { prepare: (gained: TopicPartition[]) => this.#planRebuilds(gained) } : {}),
      },
    );
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
        if (!this.#group.assigned.some((x) => samePartition(x, tp))) continue; // lost again meanwhile
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
    while (this.#group.pending > 0) {
      await Promise.race([this.#group.callbacks, sleep(1000)]);
      if (this.#group.stopping || !isRunning()) return;
      await heartbeat();
    }
    const { topic, partition } = batch;
    const rebuild = this.#rebuilds.get(tpKey({ topic, partition }));
    if (rebuild && rebuild.next !== null && !isStale() && !this.#group.stopping && isRunning()) {
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
    const max = this.#group.maxBatchSize;
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
        if (this.#group.stopping || !isRunning() || isStale()) return;
        try {
          await this.options.onBatch(chunk);
          break;
        } catch (error) {
          this.ctx.onError(error, { groupId: this.options.groupId, batch: chunk, phase: 'batch' });
          const until = Date.now() + this.ctx.retryDelayMs;
          while (Date.now() < until && !this.#group.stopping && isRunning()) {
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

  holds(partition: TopicPartition): boolean {
    return this.#group.holds(partition);
  }

  async lag(): Promise<Record<string, number>> {
    const owned = this.#group.assigned;
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
        const position = at >= 0 ? at : this.#group.fromBeginning ? Number(end.low) : high;
        out[topic] = (out[topic] ?? 0) + Math.max(0, high - Math.max(position, Number(end.low)));
      }
    }
    return out;
  }

  /** Finishes the batch in flight (committing it), calls onRevoked for everything owned, leaves the group. */
  stop(): Promise<void> {
    return this.#group.stop(
      async () => {
        if (this.#restart) clearTimeout(this.#restart);
        await this.#inflight?.catch(() => {});
        await this.#group.revokeAll();
        await this.#consumer.stop();
        await this.#consumer.disconnect();
      },
      () => this.ctx.forget(this),
    );
  }
}
