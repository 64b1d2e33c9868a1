import { setTimeout as sleep } from 'node:timers/promises';
import type { Batch, OutgoingMessage, TopicSpec } from './types.js';

/**
 * What the two Kafka clients (kafkajs in `kafka/`, @platformatic/kafka in `platformatic/`) share:
 * their options and defaults, how a topic spec becomes topic configs, and how a send is cut into
 * requests. Each client folder holds only what its library needs.
 */

/** The Kafka client libraries a transport can run on (`KAFKA_CLIENT`); the first is the default. */
export const KAFKA_CLIENTS = ['kafkajs', 'platformatic'] as const;
export type KafkaClientName = (typeof KAFKA_CLIENTS)[number];

/** The subset of a pino logger the Kafka transports write to (pino's `logger.warn(obj, msg)` form). */
export interface LoggerLike {
  error(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export type KafkaLogLevel = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

export interface KafkaErrorContext {
  groupId?: string;
  batch?: Batch;
  /** Where it happened: a batch handler, a rebalance callback, a consumer crash (the member is started again), stopping. */
  phase: 'batch' | 'assigned' | 'revoked' | 'crash' | 'stop';
}

export interface KafkaTransportOptions {
  /** `host:port` list, or the comma-separated form of KAFKA_BROKERS. */
  brokers: string[] | string;
  clientId?: string;
  /** Replication factor of topics ensureTopics creates; default min(3, brokers in the cluster). */
  replicationFactor?: number;
  /** The client's own logs go here (pino-compatible); without one the client logs nothing. */
  logger?: LoggerLike;
  /** Default 'warn' with a logger. */
  logLevel?: KafkaLogLevel;
  /** Failed batch handlers, failed rebalance callbacks, consumer crashes. Default: logger.error, if any. */
  onError?(error: unknown, context: KafkaErrorContext): void;
  /** Pause before a batch whose handler threw is delivered again; default 1000 ms. */
  retryDelayMs?: number;
  /** Longest a fetch waits for data (also bounds how long stop() waits for an idle fetch); default 500 ms. */
  maxWaitMs?: number;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /** How long consume() waits for the group to hand this member its partitions; default 60 s. */
  joinTimeoutMs?: number;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

/** The transports' defaults (replicationFactor's depends on the cluster: see ensureTopics). */
export const KAFKA_TRANSPORT_DEFAULTS = {
  clientId: 'city-brain',
  logLevel: 'warn' as KafkaLogLevel,
  retryDelayMs: 1000,
  maxWaitMs: 500,
  sessionTimeoutMs: 30_000,
  heartbeatIntervalMs: 3000,
  joinTimeoutMs: 60_000,
  connectionTimeoutMs: 3000,
  requestTimeoutMs: 30_000,
};

export function parseBrokers(brokers: string[] | string): string[] {
  const list = (Array.isArray(brokers) ? brokers : brokers.split(',')).map((b) => b.trim()).filter(Boolean);
  if (list.length === 0) throw new Error('KafkaTransport: no brokers given');
  return list;
}

/** Routes an error to `onError`, else to the logger. */
export function reportError(options: Pick<KafkaTransportOptions, 'onError' | 'logger'>, error: unknown, context: KafkaErrorContext): void {
  if (options.onError) options.onError(error, context);
  else
    options.logger?.error(
      { err: error, groupId: context.groupId, phase: context.phase, topic: context.batch?.topic, partition: context.batch?.partition },
      'kafka transport error',
    );
}

export function checkPartitions(specs: TopicSpec[]): void {
  for (const spec of specs) {
    if (spec.partitions < 1 || !Number.isInteger(spec.partitions))
      throw new Error(`topic ${spec.name}: partitions must be a positive integer`);
  }
}

/** The specs to create: those not in `existing`, each name once. */
export function missingTopics(specs: TopicSpec[], existing: Set<string>): TopicSpec[] {
  const wanted = new Map<string, TopicSpec>();
  for (const spec of specs) if (!existing.has(spec.name) && !wanted.has(spec.name)) wanted.set(spec.name, spec);
  return [...wanted.values()];
}

/** A topic spec's compaction, retention and further settings as Kafka topic configs. */
export function topicConfigEntries(spec: TopicSpec): { name: string; value: string }[] {
  const entries: { name: string; value: string }[] = [];
  if (spec.compacted) entries.push({ name: 'cleanup.policy', value: spec.retentionMs !== undefined ? 'compact,delete' : 'compact' });
  if (spec.retentionMs !== undefined) entries.push({ name: 'retention.ms', value: String(spec.retentionMs) });
  for (const [name, value] of Object.entries(spec.configs ?? {})) entries.push({ name, value });
  return entries;
}

/**
 * What an existing topic lacks for its spec to hold: a topic the spec compacts that an earlier
 * version created delete-only (the `metrics.*` topics before their lists were keyed) gets the
 * spec's cleanup policy and further settings, not its retention (an operator may have changed it);
 * null when its policy (`cleanup.policy` as the broker reports it) already compacts.
 */
export function compactionUpgrade(spec: TopicSpec, policy: string | null | undefined): { name: string; value: string }[] | null {
  if (!spec.compacted || (policy ?? 'delete').split(',').includes('compact')) return null;
  return topicConfigEntries(spec).filter((e) => e.name !== 'retention.ms');
}

/** Logged when a stage may not describe or alter topic configs (ACLs): the topics work as they are, only less compacted. */
export const COMPACTION_UPGRADE_FAILED =
  'could not check or change the cleanup policy of existing topics; give the compacted ones cleanup.policy=compact,delete by hand';

/**
 * Values per produce request: a send of many records (a burst of alert changes, every partition's
 * partial) into one partition is one record batch, and the broker refuses a batch over its limit
 * (1 MiB by default) every time.
 */
export const SEND_CHUNK_BYTES = 512 * 1024;

/** Consecutive runs of `messages` with at most `maxBytes` of values each (a larger message alone). */
export function chunksOf(messages: OutgoingMessage[], maxBytes: number): OutgoingMessage[][] {
  const chunks: OutgoingMessage[][] = [];
  let current: OutgoingMessage[] = [];
  let bytes = 0;
  for (const m of messages) {
    if (current.length > 0 && bytes + m.value.length > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(m);
    bytes += m.value.length;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * Resolves once every partition of `topics` has a leader, as `leaders` reports them (null: the
 * metadata does not know every topic yet). A KRaft broker answers UNKNOWN_TOPIC_OR_PARTITION until
 * its metadata has caught up with the controller that created the topics (seen on a broker just
 * started, under load): wait a moment instead of failing the start.
 */
export async function leadersElected(topics: string[], leaders: () => Promise<number[][] | null>, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    let last: unknown;
    try {
      const known = await leaders();
      if (known && known.length === topics.length && known.every((t) => t.length > 0 && t.every((leader) => leader >= 0))) return;
    } catch (error) {
      last = error;
    }
    if (Date.now() > until)
      throw new Error(`topics ${topics.join(', ')}: not every partition has a leader after ${timeoutMs / 1000} s`, { cause: last });
    await sleep(100);
  }
}

/** A group member as its transport sees it: started by consume(), stopped by close() if still running. */
interface TransportMember {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A Kafka transport's members (one per consume()) and whether it is closed, the same on both
 * clients. close() stops the members still running, then the transport is closed and its
 * client's own producer and admin are released.
 */
export class TransportMembers<M extends TransportMember> {
  readonly #members = new Set<M>();
  #closed = false;

  assertOpen(): void {
    if (this.#closed) throw new Error('KafkaTransport is closed');
  }

  /** For a member's context: a member that stopped takes itself out. */
  readonly forget = (member: M): void => {
    this.#members.delete(member);
  };

  /** Keeps a new member and starts it (consume() resolves with it). */
  async start(member: M): Promise<M> {
    this.#members.add(member);
    await member.start();
    return member;
  }

  /**
   * Once: stops the members, marks the transport closed, then awaits what `release` returns (the
   * producer's and admin's disconnects; `release` also drops them). A failed disconnect is ignored.
   */
  async close(release: () => (Promise<unknown> | undefined)[]): Promise<void> {
    if (this.#closed) return;
    await Promise.all([...this.#members].map((member) => member.stop()));
    this.#closed = true;
    await Promise.all(release().map((disconnect) => Promise.resolve(disconnect).catch(() => {})));
  }
}
