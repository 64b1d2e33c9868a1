import {
  sightingMessage,
  TOPICS,
  type NodeRegistry,
  type OutgoingMessage,
  type PipelineMetrics,
  type Producer,
  type Sighting,
} from '../core/index.js';
import { LogAppender } from './bridge.js';

export interface QuarantineOptions {
  producer: Producer;
  registry: NodeRegistry;
  metrics: PipelineMetrics;
  /** Unknown nodes reported at most by this process (AUTO_REGISTER_MAX_PENDING). */
  maxPending: number;
  /** Of them, at most this many per MQTT client (MAX_BATCH_ENTRIES: a new gateway's first batch fits). */
  maxPerClient: number;
  /** Bytes of the first message kept for the operator. */
  payloadBytes: number;
}

/**
 * Ingest's side of registration on first sight (`AUTO_REGISTER=quarantine`): the first message of
 * each node the registry does not know goes on `registry.pending` once, for an operator to
 * approve. A hostile client can make up node ids without end: what it can put on the list is
 * bounded per client and in total (counted in citybrain_limit_hits_total), and a node's later
 * messages cost a set lookup.
 */
export class Quarantine {
  readonly #o: QuarantineOptions;
  readonly #pending: LogAppender;
  /** Node ids reported, with the client that sent each. */
  readonly #reported = new Map<string, string>();
  readonly #perClient = new Map<string, number>();

  constructor(options: QuarantineOptions) {
    this.#o = options;
    this.#pending = new LogAppender(options.producer, TOPICS.pending);
  }

  /**
   * The sightings among a publish's unknown nodes that are new and within bounds, appended; the
   * promise settles with the append (the publish is acknowledged after it).
   */
  report(sightings: readonly Omit<Sighting, 'payload'>[], payloads: readonly Buffer[]): Promise<void> | undefined {
    const out: OutgoingMessage[] = [];
    const added: string[] = [];
    for (const [i, s] of sightings.entries()) {
      if (this.#reported.has(s.nodeId)) continue;
      if (this.#reported.size >= this.#o.maxPending) this.#forgetRegistered();
      const client = s.clientId ?? '';
      const used = this.#perClient.get(client) ?? 0;
      const limit =
        this.#reported.size >= this.#o.maxPending
          ? 'AUTO_REGISTER_MAX_PENDING'
          : used >= this.#o.maxPerClient
            ? 'MAX_BATCH_ENTRIES'
            : undefined;
      if (limit) {
        this.#o.metrics.limitHits.inc({ limit });
        continue;
      }
      this.#reported.set(s.nodeId, client);
      this.#perClient.set(client, used + 1);
      added.push(s.nodeId);
      out.push(sightingMessage({ ...s, payload: payloads[i]!.subarray(0, this.#o.payloadBytes).toString('utf8') }));
    }
    if (out.length === 0) return undefined;
    // Not on the topic: reported again when the device resends (the publish goes unacknowledged).
    return this.#pending.append(out).catch((error: unknown) => {
      for (const id of added) this.#forget(id);
      throw error;
    });
  }

  /** Nodes approved (or created otherwise) since they were reported leave the bounds. */
  #forgetRegistered(): void {
    for (const id of this.#reported.keys()) if (this.#o.registry.has(id)) this.#forget(id);
  }

  #forget(id: string): void {
    const client = this.#reported.get(id);
    if (client === undefined) return;
    this.#reported.delete(id);
    const left = (this.#perClient.get(client) ?? 1) - 1;
    if (left > 0) this.#perClient.set(client, left);
    else this.#perClient.delete(client);
  }
}
