import { Readable } from 'node:stream';
import type { AedesPublishPacket, Client, Subscription } from 'aedes';
import memory from 'aedes-persistence';
import type { SubscriptionLedger } from './session-limits.js';

/** The promise side of an aedes persistence (what aedes 1.2 calls); aedes-persistence's memory store is one. */
interface Persistence {
  setup(broker: unknown): Promise<void>;
  storeRetained(packet: unknown): Promise<void>;
  createRetainedStreamCombi(patterns: string[]): Readable;
  createRetainedStream(pattern: string): Readable;
  addSubscriptions(client: Pick<Client, 'id'>, subs: Subscription[]): Promise<unknown>;
  removeSubscriptions(client: Pick<Client, 'id'>, subs: string[]): Promise<unknown>;
  subscriptionsByClient(client: Pick<Client, 'id'>): Promise<unknown[]>;
  countOffline(): Promise<unknown>;
  subscriptionsByTopic(topic: string): Promise<unknown[]>;
  cleanSubscriptions(client: Pick<Client, 'id'>): Promise<unknown>;
  incomingStorePacket(client: Pick<Client, 'id'>, packet: unknown): Promise<void>;
  incomingGetPacket(client: Pick<Client, 'id'>, packet: unknown): Promise<unknown>;
  incomingDelPacket(client: Pick<Client, 'id'>, packet: unknown): Promise<void>;
  cleanIncoming?(client: Pick<Client, 'id'>): Promise<void>;
  putWill(client: Pick<Client, 'id'>, packet: unknown): Promise<void>;
  getWill(client: Pick<Client, 'id'>): Promise<unknown>;
  delWill(client: Pick<Client, 'id'>): Promise<unknown>;
  streamWill(brokers?: unknown): Readable;
  getClientList(topic: string): Readable;
  destroy(): Promise<void>;
}

export interface SessionQueueLimits {
  /** Messages waiting for one persistent session at most; beyond, the oldest is dropped. */
  maxMessages: number;
  /** Bytes (topic + payload) waiting for one persistent session at most; beyond, the oldest are dropped. */
  maxBytes: number;
}

type Queued = AedesPublishPacket & { messageId?: number };

interface Queue {
  items: Queued[];
  bytes: number;
}

const sizeOf = (p: Queued) => Buffer.byteLength(p.topic) + (p.payload?.length ?? 0);

/**
 * The broker's session store: aedes-persistence's memory store with two jobs of its own.
 * - Subscriptions: stores exactly the filters aedes granted, each once (see SubscriptionLedger);
 *   the filter list aedes hands over (the whole SUBSCRIBE, refused filters included, once per
 *   filter) is ignored.
 * - The outgoing queue of a persistent session (QoS 1/2 messages for it, offline or not yet
 *   acknowledged) is bounded in count and bytes; the oldest are dropped first and counted.
 * Everything else is the memory store's.
 */
export class SessionStore {
  readonly #inner: Persistence;
  readonly #ledger: SubscriptionLedger;
  readonly #limits: SessionQueueLimits;
  readonly #dropped: (cause: 'count' | 'bytes', n: number) => void;
  readonly #released: ((client: Client, messageId: number) => void) | undefined;
  readonly #queues = new Map<string, Queue>();

  constructor(options: {
    ledger: SubscriptionLedger;
    limits: SessionQueueLimits;
    dropped: (cause: 'count' | 'bytes', n: number) => void;
    /** A QoS 2 publish from the client was released (its PUBREL arrived; aedes deletes it from the store). */
    released?: (client: Client, messageId: number) => void;
    inner?: Persistence;
  }) {
    // A CommonJS module: its default import is module.exports, the factory (its typings say otherwise).
    this.#inner = options.inner ?? (memory as unknown as () => Persistence)();
    this.#ledger = options.ledger;
    this.#limits = options.limits;
    this.#dropped = options.dropped;
    this.#released = options.released;
  }

  // aedes checks that setup is an async function.
  async setup(broker: unknown): Promise<void> {
    await this.#inner.setup(broker);
  }

  async addSubscriptions(client: Client, _packetFilters: Subscription[]): Promise<void> {
    const granted = this.#ledger.takeUnstored(client);
    if (granted.length > 0) await this.#inner.addSubscriptions(client, granted);
  }

  /** Messages waiting for a client (tests and diagnostics). */
  queued(clientId: string): { messages: number; bytes: number } {
    const q = this.#queues.get(clientId);
    return { messages: q?.items.length ?? 0, bytes: q?.bytes ?? 0 };
  }

  #enqueue(clientId: string, packet: AedesPublishPacket): void {
    // A copy per session, as the memory store makes: aedes writes the message id into it.
    const copy: Queued = { ...packet, messageId: undefined };
    const size = sizeOf(copy);
    let q = this.#queues.get(clientId);
    if (!q) this.#queues.set(clientId, (q = { items: [], bytes: 0 }));
    if (size > this.#limits.maxBytes) {
      // Larger than the whole queue may hold: keeping it would drop everything else and still not fit.
      this.#dropped('bytes', 1);
      return;
    }
    let byCount = 0;
    let byBytes = 0;
    while (q.items.length >= this.#limits.maxMessages) {
      q.bytes -= sizeOf(q.items.shift()!);
      byCount++;
    }
    while (q.bytes + size > this.#limits.maxBytes) {
      q.bytes -= sizeOf(q.items.shift()!);
      byBytes++;
    }
    if (byCount > 0) this.#dropped('count', byCount);
    if (byBytes > 0) this.#dropped('bytes', byBytes);
    q.items.push(copy);
    q.bytes += size;
  }

  async outgoingEnqueue(sub: { clientId: string }, packet: AedesPublishPacket): Promise<void> {
    this.#enqueue(sub.clientId, packet);
  }

  async outgoingEnqueueCombi(subs: { clientId: string }[], packet: AedesPublishPacket): Promise<void> {
    for (const sub of subs) this.#enqueue(sub.clientId, packet);
  }

  /**
   * aedes assigned a message id to a queued message it is sending. A message already dropped from
   * the queue is still sent (the memory store would fail, and aedes would drop the connection).
   */
  async outgoingUpdate(client: Client, packet: Queued): Promise<void> {
    const items = this.#queues.get(client.id)?.items ?? [];
    for (let i = 0; i < items.length; i++) {
      const queued = items[i]!;
      if (queued.brokerId === packet.brokerId) {
        if (queued.brokerCounter === packet.brokerCounter) {
          queued.messageId = packet.messageId;
          return;
        }
      } else if (queued.messageId === packet.messageId) {
        items[i] = packet;
        return;
      }
    }
  }

  async outgoingClearMessageId(client: Client, packet: { messageId?: number }): Promise<Queued | undefined> {
    const q = this.#queues.get(client.id);
    if (!q) return undefined;
    const i = q.items.findIndex((p) => p.messageId === packet.messageId);
    if (i < 0) return undefined;
    const [removed] = q.items.splice(i, 1);
    q.bytes -= sizeOf(removed!);
    if (q.items.length === 0) this.#queues.delete(client.id);
    return removed;
  }

  outgoingStream(client: Client): Readable {
    return Readable.from([...(this.#queues.get(client.id)?.items ?? [])]);
  }

  // The rest is the memory store's.
  storeRetained(packet: unknown) {
    return this.#inner.storeRetained(packet);
  }
  createRetainedStreamCombi(patterns: string[]) {
    return this.#inner.createRetainedStreamCombi(patterns);
  }
  createRetainedStream(pattern: string) {
    return this.#inner.createRetainedStream(pattern);
  }
  removeSubscriptions(client: Client, subs: string[]) {
    return this.#inner.removeSubscriptions(client, subs);
  }
  subscriptionsByClient(client: Client) {
    return this.#inner.subscriptionsByClient(client);
  }
  countOffline() {
    return this.#inner.countOffline();
  }
  subscriptionsByTopic(topic: string) {
    return this.#inner.subscriptionsByTopic(topic);
  }
  cleanSubscriptions(client: Client) {
    return this.#inner.cleanSubscriptions(client);
  }
  incomingStorePacket(client: Client, packet: unknown) {
    return this.#inner.incomingStorePacket(client, packet);
  }
  incomingGetPacket(client: Client, packet: unknown) {
    return this.#inner.incomingGetPacket(client, packet);
  }
  incomingDelPacket(client: Client, packet: { messageId?: number }) {
    if (packet.messageId !== undefined) this.#released?.(client, packet.messageId);
    return this.#inner.incomingDelPacket(client, packet);
  }
  async cleanIncoming(client: Client) {
    await this.#inner.cleanIncoming?.(client);
  }
  putWill(client: Client, packet: unknown) {
    return this.#inner.putWill(client, packet);
  }
  getWill(client: Client) {
    return this.#inner.getWill(client);
  }
  delWill(client: Client) {
    return this.#inner.delWill(client);
  }
  streamWill(brokers?: unknown) {
    return this.#inner.streamWill(brokers);
  }
  getClientList(topic: string) {
    return this.#inner.getClientList(topic);
  }
  destroy() {
    return this.#inner.destroy();
  }
}
