import { randomUUID } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import { TOPICS } from '../stream/topics.js';
import type { Consumer, Producer, StreamTransport } from '../stream/types.js';
import { actorSchema, REGISTRY_ENTITIES, REGISTRY_OPS, type RegistryChange } from './change.js';
import type { NodeRegistry } from './registry.js';

/** One entry of the audit trail: who (the API token's name and role), what, when, before and after. */
export const auditEntrySchema = z.object({
  changeId: z.string(),
  at: z.number(),
  by: actorSchema,
  op: z.enum(REGISTRY_OPS),
  entity: z.enum(REGISTRY_ENTITIES),
  id: z.string(),
  before: z.record(z.string(), z.unknown()).nullable(),
  after: z.record(z.string(), z.unknown()).nullable(),
});
export type AuditEntry = z.output<typeof auditEntrySchema>;

/** Audit entries of changes about to be applied to `registry`: `before` is what it holds now. */
export function auditEntries(registry: NodeRegistry, changes: readonly RegistryChange[]): AuditEntry[] {
  return changes.map((c) => {
    const before =
      c.entity === 'node'
        ? registry.get(c.id)
        : c.entity === 'gateway'
          ? registry.gateway(c.id)
          : registry.declaredRoads().find((r) => r.road === c.id);
    return {
      changeId: c.changeId,
      at: c.at,
      by: c.by,
      op: c.op,
      entity: c.entity,
      id: c.id,
      before: (before as Record<string, unknown> | undefined) ?? null,
      after: c.op === 'decommission' ? null : c.value,
    };
  });
}

export interface RegistryAuditOptions {
  transport: StreamTransport;
  producer: Producer;
  logger: Logger;
  /** STATE_DIR: where the trail is kept when the log does not outlive the process. */
  stateDir: string;
  /** Entries kept in memory for the API (the newest). */
  keep?: number;
}

/** Changes of one write logged one line each up to this many; a bulk import logs one summary (its entries are on the topic). */
const LOGGED_ONE_BY_ONE = 100;

/**
 * The registry's audit trail: every change's entry on the `audit` topic and in the log; the
 * newest `keep` in memory for `GET /api/v1/registry/audit`, read from the topic (and, on the
 * in-process log, from `STATE_DIR/audit.jsonl`, which keeps the trail across restarts).
 */
export class RegistryAudit {
  readonly #o: RegistryAuditOptions;
  readonly #keep: number;
  readonly #file: string | undefined;
  #entries: AuditEntry[] = [];
  #consumer: Consumer | null = null;
  /** Marks this instance's records on the topic: it has them already. */
  readonly #origin = randomUUID();

  constructor(options: RegistryAuditOptions) {
    this.#o = options;
    this.#keep = options.keep ?? 10_000;
    this.#file = options.transport.durable ? undefined : join(options.stateDir, 'audit.jsonl');
  }

  async start(): Promise<void> {
    if (this.#file) {
      const text = await readFile(this.#file, 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return '';
        throw error;
      });
      const lines = text.split('\n');
      this.#add(lines.slice(Math.max(0, lines.length - 1 - this.#keep)).flatMap((line) => this.#parse(line)));
    }
    this.#consumer = await this.#o.transport.consume({
      groupId: `citybrain-audit-${process.pid}-${randomUUID().slice(0, 8)}`,
      topics: [TOPICS.audit],
      fromBeginning: true,
      onBatch: async (batch) =>
        this.#add(batch.records.flatMap((r) => (r.headers.origin === this.#origin ? [] : this.#parse(r.value.toString())))),
    });
  }

  async stop(): Promise<void> {
    await this.#consumer?.stop();
    this.#consumer = null;
  }

  /** Writes the entries (file on the in-process log, then the topic) and logs them. */
  async record(entries: readonly AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const { logger } = this.#o;
    if (entries.length <= LOGGED_ONE_BY_ONE) for (const entry of entries) logger.info({ audit: entry }, 'registry change');
    else {
      const ops: Record<string, number> = {};
      for (const e of entries) ops[`${e.entity} ${e.op}`] = (ops[`${e.entity} ${e.op}`] ?? 0) + 1;
      logger.info({ by: entries[0]!.by, changes: entries.length, ops }, 'registry changes (each on the audit topic)');
    }
    const texts = entries.map((e) => JSON.stringify(e));
    if (this.#file) {
      await mkdir(dirname(this.#file), { recursive: true });
      for (let i = 0; i < texts.length; i += 10_000) await appendFile(this.#file, `${texts.slice(i, i + 10_000).join('\n')}\n`);
    }
    // Ours are kept at once (the answer's trail has them); the consumer skips them by their origin.
    this.#add(entries);
    const headers = { origin: this.#origin };
    for (let i = 0; i < entries.length; i += 1000)
      await this.#o.producer.send(
        TOPICS.audit,
        entries.slice(i, i + 1000).map((e, j) => ({ key: `${e.entity}/${e.id}`, value: Buffer.from(texts[i + j]!), headers })),
      );
  }

  /** The newest entries first, optionally of one entity or id. */
  list(filter: { entity?: string; id?: string; limit: number }): AuditEntry[] {
    const out: AuditEntry[] = [];
    for (let i = this.#entries.length - 1; i >= 0 && out.length < filter.limit; i--) {
      const e = this.#entries[i]!;
      if ((!filter.entity || e.entity === filter.entity) && (!filter.id || e.id === filter.id)) out.push(e);
    }
    return out;
  }

  #parse(text: string): AuditEntry[] {
    if (text.trim() === '') return [];
    try {
      const parsed = auditEntrySchema.safeParse(JSON.parse(text));
      return parsed.success ? [parsed.data] : [];
    } catch {
      return [];
    }
  }

  #add(entries: readonly AuditEntry[]): void {
    for (const entry of entries) this.#entries.push(entry);
    if (this.#entries.length > this.#keep * 2) this.#entries = this.#entries.slice(-this.#keep);
  }
}
