import {
  Admin,
  ConfigResourceTypes,
  IncrementalAlterConfigOperationTypes,
  type Base,
  Producer as PlatformaticProducer,
  ProduceAcks,
  findErrorBy,
  type CompressionAlgorithmValue,
  type Partitioner,
} from '@platformatic/kafka';
import { withDefaults } from '../../defaults.js';
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
  type KafkaLogLevel,
  type KafkaTransportOptions,
  type LoggerLike,
} from '../kafka-shared.js';
import { keyHash, nextRoundRobin } from '../partitioner.js';
import type { Consumer, ConsumerOptions, OutgoingMessage, Producer, StreamTransport, TopicSpec } from '../types.js';
import { PlatformaticMember, type MemberContext } from './member.js';

export type PlatformaticCompression = CompressionAlgorithmValue;

export interface PlatformaticTransportOptions extends KafkaTransportOptions {
  /** Compression of produced record batches; default none (see PLATFORMATIC_DEFAULTS). */
  compression?: PlatformaticCompression;
  /** Largest fetch response per partition (bytes). */
  maxBytesPerPartition?: number;
  /** Attempts of a produce request before send() fails (the caller then retries, e.g. ingest leaves the publish unacknowledged). */
  produceRetries?: number;
}

/**
 * This client's own defaults, chosen from the bench (README "Running on Apache Kafka"): the records
 * are small JSON readings sent in batches of a few hundred, on loopback or a LAN, where compressing
 * costs more CPU than it saves in bytes.
 */
export const PLATFORMATIC_DEFAULTS = {
  compression: 'none' as PlatformaticCompression,
  maxBytesPerPartition: 1024 * 1024,
  produceRetries: 5,
};

/**
 * Places a message exactly as the in-process log does (partitionFor: the Java client's murmur2 of
 * the key, or round-robin without a key). The library takes the result modulo the partition count;
 * its own default partitioner makes the hash positive with `>>> 0`, which differs from Java's for
 * half of the keys.
 */
export const contractPartitioner: Partitioner<Buffer, Buffer, Buffer, Buffer> = (_message, key) => (key ? keyHash(key) : nextRoundRobin());

const LOG_RANK: Record<KafkaLogLevel, number> = { nothing: 0, error: 1, warn: 2, info: 3, debug: 4 };

/**
 * The library's connection events to the logger (it has no log hook of its own): a broker that
 * could not be reached at warn, connections and disconnections at debug. Failures that stick
 * surface as a rejected call or through `onError`.
 */
export function logBrokerEvents(client: Base, logger: LoggerLike | undefined, level: KafkaLogLevel, role: string): void {
  if (!logger) return;
  const rank = LOG_RANK[level];
  const fields = (payload: { broker?: { host: string; port: number } }) => ({ kafka: role, broker: payload.broker });
  if (rank >= LOG_RANK.warn) client.on('client:broker:failed', (p) => logger.warn(fields(p), 'kafka broker unreachable'));
  if (rank >= LOG_RANK.debug) {
    client.on('client:broker:connect', (p) => logger.debug(fields(p), 'kafka broker connected'));
    client.on('client:broker:disconnect', (p) => logger.debug(fields(p), 'kafka broker disconnected'));
  }
}

/** Backoff between produce attempts as kafkajs's (300 ms doubling), at most 5 s. */
const produceRetryDelay = (_client: unknown, _operation: string, attempt: number) => Math.min(5000, 300 * 2 ** Math.max(0, attempt - 1));

/**
 * The stream contract on Apache Kafka with @platformatic/kafka (maintained; see core/stream/types.ts
 * for the semantics). One idempotent producer (acks=all) per transport; each consume() is one
 * member of a consumer group (member.ts).
 */
export class PlatformaticTransport implements StreamTransport {
  readonly name = 'kafka';
  readonly durable = true;
  readonly stateIn = 'log' as const;
  readonly brokers: string[];
  readonly #options: PlatformaticTransportOptions & typeof KAFKA_TRANSPORT_DEFAULTS & typeof PLATFORMATIC_DEFAULTS;
  #admin: Admin | null = null;
  #producer: PlatformaticProducer | null = null;
  readonly #members = new TransportMembers<PlatformaticMember>();
  readonly #knownTopics = new Set<string>();

  constructor(options: PlatformaticTransportOptions) {
    this.#options = {
      ...options,
      ...withDefaults(KAFKA_TRANSPORT_DEFAULTS, options),
      ...withDefaults(PLATFORMATIC_DEFAULTS, options),
    };
    this.brokers = parseBrokers(options.brokers);
  }

  #base() {
    const o = this.#options;
    return { clientId: o.clientId, bootstrapBrokers: this.brokers, connectTimeout: o.connectionTimeoutMs, timeout: o.requestTimeoutMs };
  }

  #onError(error: unknown, context: KafkaErrorContext): void {
    reportError(this.#options, error, context);
  }

  admin(): Admin {
    this.#members.assertOpen();
    if (!this.#admin) {
      this.#admin = new Admin({ ...this.#base(), retries: 5, retryDelay: 500 });
      logBrokerEvents(this.#admin, this.#options.logger, this.#options.logLevel, 'admin');
    }
    return this.#admin;
  }

  async partitionCount(topic: string): Promise<number> {
    const metadata = await this.admin()
      .metadata({ topics: [topic] })
      .catch(() => null);
    const count = metadata?.topics.get(topic)?.partitionsCount ?? 0;
    if (count === 0) throw new Error(`unknown topic ${topic}: create it with ensureTopics first`);
    return count;
  }

  async ensureTopics(specs: TopicSpec[]): Promise<void> {
    checkPartitions(specs);
    const admin = this.admin();
    const existing = new Set(await admin.listTopics());
    const wanted = missingTopics(specs, existing);
    for (const spec of specs) if (existing.has(spec.name)) this.#knownTopics.add(spec.name);
    // Not allowed to describe or alter topic configs (ACLs): the topics work as they are, only less compacted.
    await this.#upgradeCompaction(specs.filter((spec) => existing.has(spec.name))).catch((error: unknown) =>
      this.#options.logger?.warn({ err: error }, COMPACTION_UPGRADE_FAILED),
    );
    if (wanted.length === 0) return;
    const replicas = this.#options.replicationFactor ?? Math.min(3, (await admin.metadata({ topics: [] })).brokers.size);
    // One request per topic: a request's configs apply to all of its topics.
    for (const spec of wanted) {
      try {
        await admin.createTopics({ topics: [spec.name], partitions: spec.partitions, replicas, configs: topicConfigEntries(spec) });
      } catch (error) {
        // Another stage created it meanwhile: left as it is, as an existing topic.
        if (!findErrorBy(error as Error, 'apiId', 'TOPIC_ALREADY_EXISTS')) throw error;
      }
    }
    const names = wanted.map((spec) => spec.name);
    await leadersElected(names, async () => {
      const metadata = await admin.metadata({ topics: names, forceUpdate: true });
      return names.map((name) => metadata.topics.get(name)?.partitions.map((p) => p.leader) ?? []);
    });
    for (const spec of wanted) this.#knownTopics.add(spec.name);
  }

  /** Existing topics their spec now compacts get its policy (see compactionUpgrade); only those settings change. */
  async #upgradeCompaction(specs: TopicSpec[]): Promise<void> {
    const compacted = specs.filter((spec) => spec.compacted);
    if (compacted.length === 0) return;
    const described = await this.admin().describeConfigs({
      resources: compacted.map((spec) => ({
        resourceType: ConfigResourceTypes.TOPIC,
        resourceName: spec.name,
        configurationKeys: ['cleanup.policy'],
      })),
    });
    for (const spec of compacted) {
      const policy = described.find((d) => d.resourceName === spec.name)?.configs.find((c) => c.name === 'cleanup.policy')?.value;
      const upgrade = compactionUpgrade(spec, policy);
      if (!upgrade) continue;
      await this.admin().incrementalAlterConfigs({
        resources: [
          {
            resourceType: ConfigResourceTypes.TOPIC,
            resourceName: spec.name,
            configs: upgrade.map(({ name, value }) => ({ name, value, configOperation: IncrementalAlterConfigOperationTypes.SET })),
          },
        ],
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
    const existing = new Set(await this.admin().listTopics());
    for (const name of unknown) {
      if (!existing.has(name)) throw new Error(`unknown topic ${name}: create it with ensureTopics first`);
      this.#knownTopics.add(name);
    }
  }

  #sharedProducer(): PlatformaticProducer {
    this.#members.assertOpen();
    const o = this.#options;
    // Idempotent: acks=all, one request in flight per connection, and a new producer id after the
    // broker lost this one's sequence state (the library recovers by itself, then sends the batch again).
    if (!this.#producer) {
      this.#producer = new PlatformaticProducer({
        ...this.#base(),
        idempotent: true,
        acks: ProduceAcks.ALL,
        autocreateTopics: false,
        partitioner: contractPartitioner,
        compression: o.compression,
        retries: o.produceRetries,
        retryDelay: produceRetryDelay,
      });
      logBrokerEvents(this.#producer, o.logger, o.logLevel, 'producer');
    }
    return this.#producer;
  }

  async producer(): Promise<Producer> {
    const producer = this.#sharedProducer();
    return {
      send: async (topic: string, messages: OutgoingMessage[]) => {
        if (messages.length === 0) return;
        await this.#requireTopics([topic]);
        // One request per at most SEND_CHUNK_BYTES of values, in order (see SEND_CHUNK_BYTES).
        for (const chunk of chunksOf(messages, SEND_CHUNK_BYTES)) {
          // No timestamp: the library stamps the send time (CreateTime), so retention counts from
          // arrival and the broker's timestamp limits never meet a device's clock (see OutgoingMessage).
          await producer.send({
            messages: chunk.map((m) => ({
              topic,
              ...(m.key === null ? {} : { key: Buffer.from(m.key) }),
              value: m.value,
              ...(m.headers ? { headers: new Map(Object.entries(m.headers).map(([k, v]) => [Buffer.from(k), Buffer.from(v)])) } : {}),
            })),
          });
        }
      },
    };
  }

  async consume(options: ConsumerOptions): Promise<Consumer> {
    this.#members.assertOpen();
    if (options.topics.length === 0) throw new Error(`consumer group ${options.groupId}: no topics`);
    await this.#requireTopics(options.topics);
    const o = this.#options;
    const context: MemberContext = {
      brokers: this.brokers,
      clientId: o.clientId,
      onError: (error, ctx) => this.#onError(error, ctx),
      retryDelayMs: o.retryDelayMs,
      maxWaitMs: o.maxWaitMs,
      sessionTimeoutMs: o.sessionTimeoutMs,
      heartbeatIntervalMs: o.heartbeatIntervalMs,
      joinTimeoutMs: o.joinTimeoutMs,
      connectionTimeoutMs: o.connectionTimeoutMs,
      requestTimeoutMs: o.requestTimeoutMs,
      maxBytesPerPartition: o.maxBytesPerPartition,
      watch: (client) => logBrokerEvents(client, o.logger, o.logLevel, `consumer ${options.groupId}`),
      forget: this.#members.forget,
    };
    return this.#members.start(new PlatformaticMember(options, context));
  }

  close(): Promise<void> {
    return this.#members.close(() => {
      const disconnects = [this.#producer?.close(), this.#admin?.close()];
      this.#producer = null;
      this.#admin = null;
      return disconnects;
    });
  }
}
