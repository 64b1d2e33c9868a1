import { setTimeout as sleep } from 'node:timers/promises';
import { withDefaults } from '../defaults.js';
import type { KafkaErrorContext } from './kafka-shared.js';
import { CONSUMER_DEFAULTS, type ConsumerOptions, type TopicPartition } from './types.js';

export const tpKey = ({ topic, partition }: TopicPartition) => `${topic}\u0000${partition}`;
export const samePartition = (a: TopicPartition, b: TopicPartition) => a.topic === b.topic && a.partition === b.partition;
const minus = (a: TopicPartition[], b: TopicPartition[]) => a.filter((x) => !b.some((y) => samePartition(x, y)));

/** A member's group timings: its own session timeout (`ConsumerOptions.sessionTimeoutMs`) or the transport's. */
export interface MemberTimings {
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
}

/**
 * The session timeout of a member (its own or the transport's) and a heartbeat interval that fits
 * it: a shorter session needs heartbeats often enough that a live member is never taken for dead.
 */
export function memberTimings(options: Pick<ConsumerOptions, 'sessionTimeoutMs'>, transport: MemberTimings): MemberTimings {
  const sessionTimeoutMs = options.sessionTimeoutMs ?? transport.sessionTimeoutMs;
  return { sessionTimeoutMs, heartbeatIntervalMs: Math.min(transport.heartbeatIntervalMs, Math.floor(sessionTimeoutMs / 5)) };
}

/** What a group member of either client takes from its transport (each client's MemberContext adds its own). */
export interface GroupContext<M> {
  onError(error: unknown, context: KafkaErrorContext): void;
  retryDelayMs: number;
  maxWaitMs: number;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  joinTimeoutMs: number;
  /** The member stopped: the transport no longer stops it on close(). */
  forget(member: M): void;
}

/** A member's Membership on either client, with its timings (memberTimings) and its transport's error route and retry delay. */
export function joinMembership(options: ConsumerOptions, ctx: GroupContext<unknown>): Membership {
  return new Membership(options, (error, context) => ctx.onError(error, context), ctx.retryDelayMs, memberTimings(options, ctx));
}

/**
 * Sticky assignment (`ConsumerOptions.sticky`) on Kafka: the group protocol's name (the same on
 * both clients, so their members can share a group) and each member's claim, the partitions it
 * holds, carried as the user data of its join metadata for the group leader's assignment.
 */
export const STICKY_PROTOCOL = 'CityBrainSticky';

export function encodeClaim(held: TopicPartition[]): Buffer {
  return Buffer.from(JSON.stringify(held.map(({ topic, partition }) => ({ topic, partition }))));
}

/** A claim that cannot be read claims nothing: that member's partitions are shared out. */
export function decodeClaim(userData: Buffer | null | undefined): TopicPartition[] {
  if (!userData || userData.length === 0) return [];
  try {
    const parsed: unknown = JSON.parse(userData.toString());
    if (!Array.isArray(parsed)) return [];
    return parsed.filter(
      (x): x is TopicPartition =>
        typeof x === 'object' &&
        x !== null &&
        typeof (x as TopicPartition).topic === 'string' &&
        Number.isInteger((x as TopicPartition).partition),
    );
  } catch {
    return [];
  }
}

/** Hooks of one client's member into an assignment change. */
export interface AssignmentHooks {
  /** At once, with the partitions lost (drop their positions, rebuilds, pending commits). */
  lost?(revoked: TopicPartition[]): void;
  /** After onAssigned of the gained partitions (where they start, their rebuild). Retried like onAssigned. */
  prepare?(gained: TopicPartition[]): Promise<void>;
  /** Once the callbacks of this change are done. */
  settled?(): void;
}

/**
 * What a consumer group member does the same on every Kafka client: the assignment it holds, the
 * onRevoked/onAssigned callbacks in order (a batch waits for them), retrying a callback that
 * failed (state restore must not be skipped), consume() resolving after the first assignment was
 * restored, onRevoked for everything owned when it stops, and whether it still surely owns a
 * partition (`holds`: the client reports each answer of the group with `heard()`).
 */
export class Membership {
  /** The consumer options' `fromBeginning` and `maxBatchSize` over their defaults (a batch holds at least one record). */
  readonly fromBeginning: boolean;
  readonly maxBatchSize: number;
  assigned: TopicPartition[] = [];
  hasJoined = false;
  stopping = false;
  /** onRevoked/onAssigned calls, in order; batches wait for it. */
  callbacks: Promise<void> = Promise.resolve();
  /** Scheduled rebalance callbacks not finished yet. */
  pending = 0;
  readonly #joined: { resolve: () => void; reject: (error: unknown) => void; promise: Promise<void> };
  /** When the group last answered this member (a join or a heartbeat): the start of what `holds` trusts. */
  #heardAt = -Infinity;

  constructor(
    readonly options: ConsumerOptions,
    readonly onError: (error: unknown, context: KafkaErrorContext) => void,
    readonly retryDelayMs: number,
    readonly timings: MemberTimings,
  ) {
    const { fromBeginning, maxBatchSize } = withDefaults(CONSUMER_DEFAULTS, options);
    this.fromBeginning = fromBeginning;
    this.maxBatchSize = Math.max(1, maxBatchSize);
    let resolve!: () => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    promise.catch(() => {});
    this.#joined = { resolve, reject, promise };
  }

  /** The group answered this member: it joined, or a heartbeat succeeded. */
  heard(): void {
    this.#heardAt = Date.now();
  }

  /**
   * Consumer.holds: assigned, not stopping, and heard from the group within the session timeout
   * less a heartbeat interval. The group restarts a member's session timer when it receives the
   * member's heartbeat, which is before the answer arrives here: a heartbeat interval of margin
   * covers that round trip.
   */
  holds(partition: TopicPartition): boolean {
    if (this.stopping || !this.assigned.some((tp) => samePartition(tp, partition))) return false;
    return Date.now() - this.#heardAt < this.timings.sessionTimeoutMs - this.timings.heartbeatIntervalMs;
  }

  /** What this member claims in a sticky group's rebalance: only what it surely still holds. */
  held(): TopicPartition[] {
    return this.assigned.filter((tp) => this.holds(tp));
  }

  /** The first join failed for good (consume() fails with it). */
  failJoin(error: unknown): void {
    if (!this.hasJoined) this.#joined.reject(error);
  }

  /** Resolves once the first assignment's callbacks ran; rejects after `timeoutMs`. */
  async joinedWithin(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`consumer group ${this.options.groupId}: not joined within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.#joined.promise, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** A new assignment from the group: schedules onRevoked for the lost partitions, onAssigned and `prepare` for the gained. */
  assign(partitions: TopicPartition[], hooks: AssignmentHooks = {}): void {
    const next = [...partitions].sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
    const revoked = minus(this.assigned, next);
    const gained = minus(next, this.assigned);
    this.assigned = next;
    const first = !this.hasJoined;
    this.hasJoined = true;
    hooks.lost?.(revoked);
    if (this.stopping) return;
    this.pending++;
    const run = this.callbacks
      .then(async () => {
        if (revoked.length > 0) await this.retrying('revoked', () => this.options.onRevoked?.(revoked));
        if (gained.length === 0) return;
        // The first assignment's failure fails consume(); later ones are retried.
        if (first) await this.options.onAssigned?.(gained);
        else await this.retrying('assigned', () => this.options.onAssigned?.(gained));
        if (!hooks.prepare) return;
        if (first) await hooks.prepare(gained);
        else await this.retrying('assigned', () => hooks.prepare!(gained));
      })
      .finally(() => {
        this.pending--;
        hooks.settled?.();
      });
    this.callbacks = run.catch((error: unknown) => this.onError(error, { groupId: this.options.groupId, phase: 'assigned' }));
    if (first) run.then(this.#joined.resolve, this.#joined.reject);
  }

  /** Runs a rebalance callback until it succeeds or the member stops (state restore must not be skipped). */
  async retrying(phase: 'assigned' | 'revoked', callback: () => Promise<void> | void): Promise<void> {
    for (;;) {
      try {
        await callback();
        return;
      } catch (error) {
        this.onError(error, { groupId: this.options.groupId, phase });
        if (this.stopping) return;
        await sleep(this.retryDelayMs);
      }
    }
  }

  #stopped: Promise<void> | null = null;

  /**
   * Stops once (later calls get the same promise): `steps` finish the batch in flight, revoke and
   * leave the group; their failure goes to onError, `done` runs in any case.
   */
  stop(steps: () => Promise<void>, done: () => void): Promise<void> {
    this.stopping = true;
    this.#stopped ??= steps()
      .catch((error: unknown) => this.onError(error, { groupId: this.options.groupId, phase: 'stop' }))
      .finally(done);
    return this.#stopped;
  }

  /** On stop, after the batch in flight: the callbacks scheduled, then onRevoked for everything owned. */
  async revokeAll(): Promise<void> {
    await this.callbacks;
    const revoked = this.assigned;
    this.assigned = [];
    if (revoked.length === 0 || !this.hasJoined) return;
    try {
      await this.options.onRevoked?.(revoked);
    } catch (error) {
      this.onError(error, { groupId: this.options.groupId, phase: 'revoked' });
    }
  }
}
