/**
 * The stream contract every stage talks to. Three transports implement it: the file log (the
 * embedded default, `file/`), the in-process log (`memory.ts`) and Apache Kafka, on kafkajs
 * (`kafka/`) or @platformatic/kafka (`platformatic/`), chosen with KAFKA_CLIENT. It says nothing
 * about the client library behind it, so a transport can be replaced inside its own folder.
 *
 * Semantics (the same on every transport):
 * - A topic has a fixed number of partitions; a message goes to the partition chosen by its key
 *   (Kafka's murmur2 partitioner, so every transport places a key identically), so one node's
 *   readings stay in order.
 * - `Producer.send` resolves only once the log holds the messages (acks=all on Kafka; written to the segment file on the file log).
 * - Consumers belong to a group; the group's partitions are shared among its members, and each
 *   member receives batches for the partitions it owns, one batch at a time per member.
 * - A batch's position is committed only after `onBatch` resolves: at-least-once. If `onBatch`
 *   throws, the batch is delivered again.
 * - Rebuild on assign (`ConsumerOptions.rebuildOnAssign`): a partition newly assigned to a member
 *   is first re-read from the earliest retained record up to (excluding) the group's committed
 *   offset at assignment, in batches marked `replay: true`, then delivery continues from that
 *   committed offset with normal batches. Replay batches are never committed (the group's position
 *   never moves backwards; a crash or stop mid-rebuild leaves it where it was) but are retried like
 *   normal batches when `onBatch` throws; like any delivery a record may be replayed more than once
 *   (handlers must be idempotent). No committed offset = nothing to rebuild. Only what the log still
 *   retains is replayed (on the in-process log usually nothing: it drops committed records).
 * - Rebuild start (`ConsumerOptions.rebuildFrom`): a member that restored a state snapshot in
 *   `onAssigned` names the offset the snapshot covers; the rebuild then replays only from there
 *   (or from the earliest retained record, if later) up to the committed offset.
 * - A record's timestamp is its append time; a message cannot set it. Kafka counts retention and
 *   its limit on timestamps ahead of the broker's clock (`message.timestamp.after.max.ms`) from
 *   record timestamps, so event time there (a device's clock, or the processors' event clock) would
 *   let a replayed buffer be deleted at once and refuse a reading MAX_FUTURE_SKEW_S lets through.
 *   Event time travels in the value.
 */
export interface OutgoingMessage {
  key: string | null;
  value: Buffer;
  headers?: Record<string, string>;
}

export interface StreamRecord {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: Buffer;
  /** Append time in epoch ms (the appending process's wall clock), never event time. */
  timestamp: number;
  headers: Record<string, string>;
}

export interface TopicSpec {
  name: string;
  partitions: number;
  /** Keep only the latest record per key (state, registry, current alerts). */
  compacted?: boolean;
  /** How long records are kept; undefined = the transport's default. */
  retentionMs?: number;
  /** Further topic settings for Kafka (e.g. `segment.ms`); the in-process log ignores them. */
  configs?: Record<string, string>;
}

export interface Producer {
  send(topic: string, messages: OutgoingMessage[]): Promise<void>;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface Batch {
  topic: string;
  partition: number;
  records: StreamRecord[];
  /**
   * Records below the group's committed position, re-read for `rebuildOnAssign`: rebuild state from
   * them; they are not committed. Absent (or false) on normal batches.
   */
  replay?: boolean;
}

export interface ConsumerOptions {
  groupId: string;
  topics: string[];
  /** Where a group without a committed position starts: the earliest retained record (default) or the end. */
  fromBeginning?: boolean;
  /** Largest number of records in one batch. */
  maxBatchSize?: number;
  onBatch(batch: Batch): Promise<void>;
  /**
   * Before normal delivery of each newly assigned partition, replay its retained records below the
   * group's committed offset as `replay: true` batches (uncommitted), to rebuild in-memory state.
   * Default false.
   */
  rebuildOnAssign?: boolean;
  /**
   * rebuildOnAssign: the offset a gained partition's rebuild starts from (e.g. the one its restored
   * state snapshot covers), asked after `onAssigned`; undefined = the earliest retained record.
   * Only records in [max(start, earliest), committed) are replayed.
   */
  rebuildFrom?(partition: TopicPartition): Promise<number | undefined> | number | undefined;
  /** Called with the partitions this member gained, before their first batch, replay batches included (restore state here). */
  onAssigned?(partitions: TopicPartition[]): Promise<void> | void;
  /** Called with the partitions this member lost, after their last batch was committed. */
  onRevoked?(partitions: TopicPartition[]): Promise<void> | void;
  /**
   * Kafka: how long the group waits for a member that went silent (killed, hung, cut off) before
   * it hands the member's partitions to the others; default the transport's. The in-process log's
   * members leave only by `stop()` and ignore it.
   */
  sessionTimeoutMs?: number;
  /**
   * Every partition stays with the member that holds it (`Consumer.holds`) when the group
   * rebalances; only partitions nobody holds (their member left, died or was cut off) are shared
   * out, to the members with the fewest. A member that joins takes nothing away. Default false
   * (round robin). All members of a group must agree.
   */
  sticky?: boolean;
}

/** A consumer's defaults, the same on both transports. */
export const CONSUMER_DEFAULTS = {
  fromBeginning: true,
  maxBatchSize: 1000,
};

export interface Consumer {
  /** Records between the committed position and the end, per topic, summed over owned partitions. */
  lag(): Promise<Record<string, number>>;
  /** Finishes the batch in flight, commits it (unless it is a replay batch) and leaves the group. */
  stop(): Promise<void>;
  /**
   * Whether this member still owns `partition` for certain: assigned to it, not stopping and, on
   * Kafka, heard back from the group recently enough (within the session timeout less a heartbeat
   * interval) that the group cannot have handed it to another member meanwhile. The fence for
   * work only one owner may do: a member that hung or was cut off answers false before anyone
   * else can own the partition.
   */
  holds(partition: TopicPartition): boolean;
}

export interface StreamTransport {
  readonly name: string;
  /**
   * Whether the log outlives this process (Kafka and the file log: yes; the in-process log: no):
   * what it held is there again after a restart, and consumer groups resume from their positions.
   */
  readonly durable: boolean;
  /**
   * Where the stages keep the rest of their state (processor snapshots, the alert lifecycle):
   * `log` in the log's own compacted topics (Kafka: shared by every instance on every machine);
   * `files` in STATE_DIR (the logs of one process: in-process and file).
   */
  readonly stateIn: 'log' | 'files';
  /** Creates missing topics; existing topics are left as they are. */
  ensureTopics(specs: TopicSpec[]): Promise<void>;
  /** Partitions of an existing topic (an existing cluster's topics may differ from what we would create). */
  partitionCount(topic: string): Promise<number>;
  producer(): Promise<Producer>;
  consume(options: ConsumerOptions): Promise<Consumer>;
  close(): Promise<void>;
}
