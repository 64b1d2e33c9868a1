import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { z } from 'zod';
import { TOPICS } from '../stream/topics.js';
import type { Consumer, OutgoingMessage, Producer, StreamTransport } from '../stream/types.js';
import { actorSchema, type Actor } from './change.js';
import type { NodeRegistry } from './registry.js';

/**
 * Registration on first sight (`AUTO_REGISTER=quarantine`): ingest puts the first message of a
 * node the registry does not know on the compacted `registry.pending` topic, keyed by node id; the
 * API lists them for an operator to approve (a node created with its attributes) or dismiss. The
 * message itself is dead-lettered as `unknown-node` like any other: nothing of it reaches a KPI.
 */
export const sightingSchema = z.object({
  nodeId: z.string().min(1).max(200),
  /** What the topic says (a node's own topic: city/{district}/{kind}/{nodeId}/...). */
  kind: z.string().max(64).optional(),
  district: z.string().max(64).optional(),
  /** A gateway batch's entry: the gateway that carried it. */
  gatewayId: z.string().max(200).optional(),
  topic: z.string().max(512),
  clientId: z.string().max(256).optional(),
  /** The first message (its first bytes, as text). */
  payload: z.string(),
  firstSeen: z.number(),
});
export type Sighting = z.output<typeof sightingSchema>;

/** A dismissal: every API instance drops the node from its list (ingest reports it again after a restart if it still sends). */
const dismissalSchema = z.object({ nodeId: z.string().min(1).max(200), dismissed: z.literal(true), at: z.number(), by: actorSchema });

export function sightingMessage(sighting: Sighting): OutgoingMessage {
  return { key: sighting.nodeId, value: Buffer.from(JSON.stringify(sighting)) };
}

export interface PendingRegistrationsOptions {
  transport: StreamTransport;
  producer: Producer;
  registry: NodeRegistry;
  logger: Logger;
  /** Sightings kept (the oldest go first); ingest bounds what it reports with AUTO_REGISTER_MAX_PENDING. */
  keep?: number;
}

/** The API's view of `registry.pending`: every sighting of a node still unknown, oldest first. */
export class PendingRegistrations {
  readonly #o: PendingRegistrationsOptions;
  readonly #keep: number;
  /** By node id, in the order first seen (a Map keeps insertion order). */
  readonly #sightings = new Map<string, Sighting>();
  #consumer: Consumer | null = null;

  constructor(options: PendingRegistrationsOptions) {
    this.#o = options;
    this.#keep = options.keep ?? 100_000;
  }

  async start(): Promise<void> {
    this.#consumer = await this.#o.transport.consume({
      groupId: `citybrain-pending-${process.pid}-${randomUUID().slice(0, 8)}`,
      topics: [TOPICS.pending],
      fromBeginning: true,
      onBatch: async (batch) => {
        for (const record of batch.records) this.#apply(record.value.toString(), record.offset);
      },
    });
  }

  async stop(): Promise<void> {
    await this.#consumer?.stop();
    this.#consumer = null;
  }

  /** The nodes waiting for an operator: sightings of ids the registry still does not have. */
  list(): Sighting[] {
    return [...this.#sightings.values()].filter((s) => !this.#o.registry.has(s.nodeId));
  }

  get(nodeId: string): Sighting | undefined {
    return this.#o.registry.has(nodeId) ? undefined : this.#sightings.get(nodeId);
  }

  /** Drops a sighting everywhere (the dismissal is a record on the topic); answers once this instance has dropped it. */
  async dismiss(nodeId: string, by: Actor, at: number): Promise<void> {
    await this.#o.producer.send(TOPICS.pending, [{ key: nodeId, value: Buffer.from(JSON.stringify({ nodeId, dismissed: true, at, by })) }]);
    this.#sightings.delete(nodeId);
  }

  #apply(text: string, offset: number): void {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    const dismissal = dismissalSchema.safeParse(value);
    if (dismissal.success) return void this.#sightings.delete(dismissal.data.nodeId);
    const sighting = sightingSchema.safeParse(value);
    if (!sighting.success) return void this.#o.logger.warn({ offset, topic: TOPICS.pending }, 'unreadable pending registration skipped');
    // The first sighting stays (another ingest process, or one restarted, reports the node again).
    if (this.#sightings.has(sighting.data.nodeId)) return;
    this.#sightings.set(sighting.data.nodeId, sighting.data);
    if (this.#sightings.size > this.#keep) this.#sightings.delete(this.#sightings.keys().next().value!);
  }
}
