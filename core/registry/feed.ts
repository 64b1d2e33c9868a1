import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { TOPICS } from '../stream/topics.js';
import type { Consumer, OutgoingMessage, Producer, StreamRecord, StreamTransport } from '../stream/types.js';
import { changeKey, MARKER_KEY, registryChangeSchema, type Actor, type RegistryChange, type RegistryGateway } from './change.js';
import { RegistryJournal } from './journal.js';
import { NodeRegistry } from './registry.js';

export interface RegistryFeedOptions {
  /** The registry this process's stages share; rebuilt from the topic at start, then kept current. */
  registry: NodeRegistry;
  transport: StreamTransport;
  producer: Producer;
  logger: Logger;
  /**
   * What the registry starts from when the topic (or journal) is empty: the REGISTRY file, or the
   * generated city, or change records taken beforehand (from a registry that is also `registry`,
   * which the rebuild clears). Called on a first start only.
   */
  seed: () => Promise<NodeRegistry | readonly RegistryChange[]> | NodeRegistry | readonly RegistryChange[];
  /** STATE_DIR: where the records are kept when the log does not outlive the process (the in-process log). */
  stateDir: string;
  clock?: () => number;
}

const SEED_ACTOR: Actor = { name: 'seed', role: 'system' };
/** Values per send: a bulk import of 500,000 nodes goes out in sends well below Kafka's default batch limit (1 MiB). */
const SEND_BYTES = 512 * 1024;

/** The registry's contents as change records (creates): what seeds an empty topic. Gateways named by nodes get a record each. */
export function seedChanges(registry: NodeRegistry, at: number, by: Actor = SEED_ACTOR): RegistryChange[] {
  const batch = randomUUID();
  let n = 0;
  const record = (entity: RegistryChange['entity'], id: string, value: object): RegistryChange => ({
    changeId: `${batch}-${n++}`,
    at,
    op: 'create',
    entity,
    id,
    value: value as Record<string, unknown>,
    by,
  });
  const out: RegistryChange[] = [];
  const gateways = new Map<string, RegistryGateway>();
  for (const g of registry.gateways()) gateways.set(g.gatewayId, g);
  for (const node of registry.all()) {
    out.push(record('node', node.nodeId, node));
    if (node.gatewayId && !gateways.has(node.gatewayId))
      gateways.set(node.gatewayId, { gatewayId: node.gatewayId, district: node.district });
  }
  for (const road of registry.declaredRoads()) out.push(record('road', road.road, road));
  for (const g of gateways.values()) out.push(record('gateway', g.gatewayId, g));
  return out;
}

type Waiter = { resolve: () => void; reject: (error: Error) => void };

/**
 * Keeps a process's registry equal to the `registry` topic: at start it rebuilds it from the
 * topic (read up to a marker it writes itself, so it knows where the topic ended), seeding an
 * empty topic from `seed`; then it applies every change as it arrives, for every stage of the
 * process at once (they share the registry). On the in-process log, which does not outlive the
 * process, the records are also kept in STATE_DIR (RegistryJournal) and the rebuild reads them.
 *
 * `publish` is how a change is made: journal, then topic, resolved once this process applied it.
 * The topic has one partition, so every stage applies the changes in the same order.
 */
export class RegistryFeed {
  readonly #o: RegistryFeedOptions;
  readonly #journal: RegistryJournal | undefined;
  readonly #waiters = new Map<string, Waiter>();
  #consumer: Consumer | null = null;
  /** Marks this feed's records on the topic, and its changes on their way there. */
  readonly #origin = randomUUID();
  readonly #own = new Map<string, { change: RegistryChange; trusted: boolean }>();
  /** Changes applied from the topic since start (markers excepted). */
  #seen = 0;

  constructor(options: RegistryFeedOptions) {
    this.#o = options;
    this.#journal = options.transport.durable ? undefined : new RegistryJournal(options.stateDir);
  }

  async start(): Promise<void> {
    const { registry, logger } = this.#o;
    // Only a first start needs the seed: loading or generating a city of 500,000 nodes and its
    // change records at every start would cost each stage seconds and a heap it keeps in its RSS.
    const seed = async () => {
      const from = await this.#o.seed();
      return from instanceof NodeRegistry ? seedChanges(from, this.#now()) : from;
    };
    registry.clear();
    if (this.#journal) {
      const { changes, skipped } = await this.#journal.load();
      if (skipped > 0) logger.warn({ file: this.#journal.file, skipped }, 'registry journal: unreadable lines skipped');
      if (changes.length > 0) {
        this.#applyAll(changes);
        logger.info({ file: this.#journal.file, changes: changes.length, nodes: registry.size }, 'registry rebuilt from its journal');
      } else {
        const changes = await seed();
        await this.#journal.append(changes);
        this.#applyAll(changes);
        logger.info({ file: this.#journal.file, nodes: registry.size }, 'registry seeded (first start): its journal written');
      }
    }
    this.#consumer = await this.#o.transport.consume({
      groupId: `citybrain-registry-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
      topics: [TOPICS.registry],
      fromBeginning: true,
      // A bulk import applied in a few large steps (each one registry version), not 500 small ones.
      maxBatchSize: 10_000,
      onBatch: async (batch) => this.#onRecords(batch.records),
    });
    if (this.#journal) return;
    // A durable topic: read it to its end (our marker), then seed it if it was empty.
    await this.#mark();
    if (this.#seen === 0) {
      await this.publish(await seed());
      logger.info({ nodes: registry.size }, 'registry seeded (first start): written to the registry topic');
    } else logger.info({ changes: this.#seen, nodes: registry.size }, 'registry rebuilt from the registry topic');
  }

  async stop(): Promise<void> {
    await this.#consumer?.stop();
    this.#consumer = null;
    for (const waiter of this.#waiters.values()) waiter.reject(new Error('the registry feed stopped'));
    this.#waiters.clear();
  }

  /**
   * Makes changes: kept (journal, topic), then resolved once this process's registry has them. A
   * change that would not apply is refused before it is kept (compaction would let it replace
   * the entity's last good record). Large publishes are written and sent in slices, so the event
   * loop keeps turning (/health, readings) during a bulk import.
   */
  async publish(changes: readonly RegistryChange[], options: { checked?: boolean } = {}): Promise<void> {
    if (changes.length === 0) return;
    // `checked`: the writer judged them against this registry already (planImport): not twice.
    if (!options.checked) this.#o.registry.check(changes);
    const last = changes[changes.length - 1]!.changeId;
    const applied = new Promise<void>((resolve, reject) => this.#waiters.set(last, { resolve, reject }));
    // Read back, our own records are applied from these objects (no JSON or schema parse); checked ones are not judged again.
    for (const change of changes) this.#own.set(change.changeId, { change, trusted: options.checked === true });
    const texts = changes.map((c) => JSON.stringify(c));
    try {
      await this.#journal?.append(changes, texts);
      await this.#send(
        changes.map((c, i) => ({
          key: changeKey(c),
          value: Buffer.from(texts[i]!),
          headers: { origin: this.#origin, changeId: c.changeId },
        })),
      );
    } catch (error) {
      this.#waiters.delete(last);
      for (const change of changes) this.#own.delete(change.changeId);
      throw error;
    }
    await applied;
  }

  async #send(messages: OutgoingMessage[]): Promise<void> {
    for (let i = 0; i < messages.length;) {
      let bytes = 0;
      let j = i;
      while (j < messages.length && (j === i || bytes + messages[j]!.value.length <= SEND_BYTES)) bytes += messages[j++]!.value.length;
      await this.#o.producer.send(TOPICS.registry, messages.slice(i, j));
      i = j;
    }
  }

  /** Writes a marker and waits until it is read back: everything before it on the topic has been applied. */
  async #mark(): Promise<void> {
    const marker = randomUUID();
    const read = new Promise<void>((resolve, reject) => this.#waiters.set(marker, { resolve, reject }));
    await this.#o.producer.send(TOPICS.registry, [{ key: MARKER_KEY, value: Buffer.from(JSON.stringify({ marker })) }]);
    await read;
  }

  #onRecords(records: readonly StreamRecord[]): void {
    const changes: RegistryChange[] = [];
    let trusted = true;
    for (const record of records) {
      if (record.key === MARKER_KEY) {
        this.#applyAll(changes.splice(0), trusted);
        trusted = true;
        const { marker } = JSON.parse(record.value.toString()) as { marker?: string };
        this.#settle(marker ?? '');
        continue;
      }
      const own = record.headers.origin === this.#origin ? this.#own.get(record.headers.changeId ?? '') : undefined;
      if (own) {
        this.#own.delete(own.change.changeId);
        changes.push(own.change);
        trusted &&= own.trusted;
        continue;
      }
      trusted = false;
      let parsed;
      try {
        parsed = registryChangeSchema.safeParse(JSON.parse(record.value.toString()));
      } catch {
        parsed = undefined;
      }
      if (parsed?.success) changes.push(parsed.data);
      else this.#o.logger.warn({ offset: record.offset, key: record.key }, 'registry topic: unreadable record skipped');
    }
    this.#applyAll(changes, trusted);
  }

  /** Applies changes together (one version, one notice to the stages); a batch with a bad record is applied one by one around it. */
  #applyAll(changes: readonly RegistryChange[], trusted = false): void {
    if (changes.length === 0) return;
    try {
      this.#o.registry.apply(changes, { trusted });
      for (const c of changes) this.#settle(c.changeId);
    } catch {
      for (const c of changes) {
        try {
          this.#o.registry.apply([c]);
          this.#settle(c.changeId);
        } catch (error) {
          this.#o.logger.error({ err: (error as Error).message, changeId: c.changeId }, 'registry change not applied');
          this.#settle(c.changeId, error as Error);
        }
      }
    }
    this.#seen += changes.length;
  }

  #settle(id: string, error?: Error): void {
    const waiter = this.#waiters.get(id);
    if (!waiter) return;
    this.#waiters.delete(id);
    if (error) waiter.reject(error);
    else waiter.resolve();
  }

  #now(): number {
    return (this.#o.clock ?? Date.now)();
  }
}
