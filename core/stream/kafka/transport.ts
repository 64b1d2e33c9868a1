import {
  Kafka,
  logLevel,
  type Admin,
  type ConfigResourceTypes,
  type ConfigSource,
  type ICustomPartitioner,
  type ITopicConfig,
  type Producer as KafkaJsProducer,
} from 'kafkajs';
import { withDefaults } from '../../defaults.js';
import { partitionFor } from '../partitioner.js';
import type { Consumer, ConsumerOptions, OutgoingMessage, Producer, StreamTransport, TopicSpec } from '../types.js';
import { KafkaMember, type MemberContext } from './consumer.js';
import {
  checkPartitions,
  chunksOf,
  COMPACTION_UPGRADE_FAILED,
  compactionUpgrade,
  KAFKA_TRANSPORT_DEFAULTS,
  leadersElected,
  missingTopics,
  parseBrokers,
  reportError,
  SEND_CHUNK_BYTES,
  topicConfigEntries,
  TransportMembers,
  type KafkaErrorContext,
  type KafkaTransportOptions,
} from '../kafka-shared.js';
import { KAFKAJS_LEVEL, kafkajsLogCreator } from './logging.js';

/** kafkajs's ConfigResourceTypes.TOPIC and ConfigSource.TOPIC_CONFIG: its enums are no named exports Node's ESM loader finds in its CommonJS. */
const TOPIC_RESOURCE = 2 as ConfigResourceTypes;
const TOPIC_CONFIG_SOURCE = 1 as ConfigSource;

export { chunksOf, KAFKA_TRANSPORT_DEFAULTS, parseBrokers, type KafkaErrorContext, type KafkaTransportOptions };

/**
 * Places a message exactly as the in-process log does (core/stream/partitioner.ts: Kafka's murmur2
 * of the key, or round-robin without a key), so a node lands on the same partition on both
 * transports. kafkajs's DefaultPartitioner agrees for keyed messages; this keeps one definition.
 */
export const contractPartitioner: ICustomPartitioner =
  () =>
  ({ partitionMetadata, message }) => {
    if (message.partition !== undefined && message.partition !== null) return message.partition;
    const key = message.key === undefined || message.key === null ? null : message.key.toString();
    return partitionFor(key, partitionMetadata.length);
  };

/**
 * The stream contract on Apache Kafka (kafkajs). Topics are created with their partition count,
 * compaction and retention; one idempotent producer (acks=all) per transport; each consume() is
 * one member of a consumer group that commits a batch's offset only after its handler resolved.
 */
export class KafkaTransport implements StreamTransport {
  readonly name = 'kafka';
  readonly durable = true;
  readonly stateIn = 'log' as const;
  readonly brokers: string[];
  readonly #kafka: Kafka;
  readonly #options: KafkaTransportOptions & typeof KAFKA_TRANSPORT_DEFAULTS;
  #admin: Promise<Admin> | null = null;
  #producer: Promise<KafkaJsProducer> | null = null;
  readonly #members = new TransportMembers<KafkaMember>();
  readonly #knownTopics = new Set<string>();

  constructor(options: KafkaTransportOptions) {
    this.#options = { ...options, ...withDefaults(KAFKA_TRANSPORT_DEFAULTS, options) };
    this.brokers = parseBrokers(options.brokers);
    const o = this.#options;
    const logger = o.logger;
    this.#kafka = new Kafka({
      clientId: o.clientId,
      brokers: this.brokers,
      connectionTimeout: o.connectionTimeoutMs,
      requestTimeout: o.requestTimeoutMs,
      logLevel: logger ? KAFKAJS_LEVEL[o.logLevel] : logLevel.NOTHING,
      ...(logger ? { logCreator: kafkajsLogCreator(logger) } : {}),
    });
  }

  #onError(error: unknown, context: KafkaErrorContext): void {
    reportError(this.#options, error, context);
  }

  admin(): Promise<Admin> {
    this.#members.assertOpen();
    this.#admin ??= (async () => {
      const admin = this.#kafka.admin();
      await admin.connect();
      return admin;
    })().catch((error: unknown) => {
      this.#admin = null;
      throw error;
    });
    return this.#admin;
  }

  async partitionCount(topic: string): Promise<number> {
    const { topics } = await (await this.admin()).fetchTopicMetadata({ topics: [topic] });
    const count = topics[0]?.partitions.length ?? 0;
    if (count === 0) throw new Error(`unknown topic ${topic}: create it with ensureTopics first`);
    return count;
  }

  async ensureTopics(specs: TopicSpec[]): Promise<void> {
    checkPartitions(specs);
    const admin = await this.admin();
    const existing = new Set(await admin.listTopics());
    const wanted = missingTopics(specs, existing);
    for (const spec of specs) if (existing.has(spec.name)) this.#knownTopics.add(spec.name);
    // Not allowed to describe or alter topic configs (ACLs): the topics work as they are, only less compacted.
    await this.#upgradeCompaction(
      admin,
      specs.filter((spec) => existing.has(spec.name)),
    ).catch((error: unknown) => this.#options.logger?.warn({ err: error }, COMPACTION_UPGRADE_FAILED));
    if (wanted.length === 0) return;
    const replicationFactor = this.#options.replicationFactor ?? Math.min(3, (await admin.describeCluster()).brokers.length);
    const topics: ITopicConfig[] = wanted.map((spec) => ({
      topic: spec.name,
      numPartitions: spec.partitions,
      replicationFactor,
      configEntries: topicConfigEntries(spec),
    }));
    await admin.createTopics({ topics, waitForLeaders: false });
    // Not kafkajs's `waitForLeaders`: it retries only LEADER_NOT_AVAILABLE (see leadersElected).
    const names = wanted.map((spec) => spec.name);
    await leadersElected(names, async () => {
      const metadata = await admin.fetchTopicMetadata({ topics: names });
      return metadata.topics.map((t) => t.partitions.map((p) => p.leader));
    });
    for (const spec of wanted) this.#knownTopics.add(spec.name);
  }

  /** Existing topics their spec now compacts get its policy (see compactionUpgrade), their other settings kept. */
  async #upgradeCompaction(admin: Admin, specs: TopicSpec[]): Promise<void> {
    const compacted = specs.filter((spec) => spec.compacted);
    if (compacted.length === 0) return;
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: compacted.map((spec) => ({ type: TOPIC_RESOURCE, name: spec.name })),
    });
    for (const spec of compacted) {
      const entries = resources.find((r) => r.resourceName === spec.name)?.configEntries ?? [];
      const upgrade = compactionUpgrade(spec, entries.find((e) => e.configName === 'cleanup.policy')?.configValue);
      if (!upgrade) continue;
      // AlterConfigs replaces a topic's own settings as a whole: the ones it has (an operator's too) go along.
      const kept = entries
        .filter((e) => e.configSource === TOPIC_CONFIG_SOURCE && !upgrade.some((u) => u.name === e.configName))
        .map((e) => ({ name: e.configName, value: e.configValue }));
      await admin.alterConfigs({
        validateOnly: false,
        resources: [{ type: TOPIC_RESOURCE, name: spec.name, configEntries: [...kept, ...upgrade] }],
      });
      this.#options.logger?.warn(
        { topic: spec.name, set: upgrade },
        'topic created by an earlier version: its cleanup policy now compacts',
      );
    }
  }

  /** Fails like the in-process log does for a topic nobody created (auto-creation is off). */
  async #requireTopics(names: string[]): Promise<void> {
    const unknown = names.filter((name) => !this.#knownTopics.has(name));
    if (unknown.length === 0) return;
    const existing = new Set(await (await this.admin()).listTopics());
    for (const name of unknown) {
      if (!existing.has(name)) throw new Error(`unknown topic ${name}: create it with ensureTopics first`);
      this.#knownTopics.add(name);
    }
  }

  /**
   * Drops the shared producer after an error that leaves its idempotence state out of step with
   * the broker's: the next send starts a new one (a new producer id, sequences from zero).
   */
  #discardProducer(broken: Promise<KafkaJsProducer>): void {
    if (this.#producer !== broken) return;
    this.#producer = null;
    broken.then((p) => p.disconnect()).catch(() => {});
  }

  #sharedProducer(): Promise<KafkaJsProducer> {
    this.#members.assertOpen();
    this.#producer ??= (async () => {
      const producer = this.#kafka.producer({
        idempotent: true,
        // kafkajs keeps the idempotent producer's sequence numbers right only with one request in flight.
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: contractPartitioner,
      });
      await producer.connect();
      return producer;
    })().catch((error: unknown) => {
      this.#producer = null;
      throw error;
    });
    return this.#producer;
  }

  async producer(): Promise<Producer> {
    await this.#sharedProducer();
    return {
      send: async (topic: string, messages: OutgoingMessage[]) => {
        if (messages.length === 0) return;
        await this.#requireTopics([topic]);
        const shared = this.#sharedProducer();
        const producer = await shared;
        // One request per at most SEND_CHUNK_BYTES of values, in order (see SEND_CHUNK_BYTES).
        for (const chunk of chunksOf(messages, SEND_CHUNK_BYTES)) {
          try {
            // acks=-1: resolves once every in-sync replica has the messages.
            await producer.send({
              topic,
              acks: -1,
              // No timestamp: kafkajs stamps the send time (CreateTime), so retention counts from arrival
              // and the broker's timestamp limits never meet a device's clock (see OutgoingMessage).
              messages: chunk.map((m) => ({ key: m.key, value: m.value, ...(m.headers ? { headers: m.headers } : {}) })),
            });
          } catch (error) {
            // After a broker outage kafkajs can be left one sequence number off for good (every later
            // send refused with OUT_OF_ORDER_SEQUENCE_NUMBER): the caller's send fails as any other
            // (ingest leaves the publish unacknowledged, the device resends) and the next one gets a
            // new producer. A batch the broker did take is then written again: consumers drop duplicates.
            if (producerStateLost(error)) this.#discardProducer(shared);
            throw error;
          }
        }
      },
    };
  }

  async consume(options: ConsumerOptions): Promise<Consumer> {
    this.#members.assertOpen();
    if (options.topics.length === 0) throw new Error(`consumer group ${options.groupId}: no topics`);
    await this.#requireTopics(options.topics);
    const context: MemberContext = {
      kafka: this.#kafka,
      admin: () => this.admin(),
      onError: (error, ctx) => this.#onError(error, ctx),
      retryDelayMs: this.#options.retryDelayMs,
      maxWaitMs: this.#options.maxWaitMs,
      sessionTimeoutMs: this.#options.sessionTimeoutMs,
      heartbeatIntervalMs: this.#options.heartbeatIntervalMs,
      joinTimeoutMs: this.#options.joinTimeoutMs,
      forget: this.#members.forget,
    };
    return this.#members.start(new KafkaMember(options, context));
  }

  close(): Promise<void> {
    return this.#members.close(() => {
      const disconnects = [this.#producer?.then((p) => p.disconnect()), this.#admin?.then((a) => a.disconnect())];
      this.#producer = null;
      this.#admin = null;
      return disconnects;
    });
  }
}

/** Broker errors after which an idempotent producer's sequence state cannot be trusted again. */
const PRODUCER_STATE_ERRORS = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'INVALID_PRODUCER_EPOCH',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_ID_MAPPING',
]);

/** Whether `error` (a kafkajs protocol error, or one wrapping it after retries) is one of those. */
export function producerStateLost(error: unknown): boolean {
  for (
    let e = error as { type?: unknown; originalError?: unknown; cause?: unknown } | null | undefined, depth = 0;
    e && depth < 5;
    depth++
  ) {
    if (typeof e.type === 'string' && PRODUCER_STATE_ERRORS.has(e.type)) return true;
    e = (e.originalError ?? e.cause) as typeof e;
  }
  return false;
}
