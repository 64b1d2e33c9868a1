import { randomUUID } from 'node:crypto';
import { applyPatch, diff, type PatchOp } from '../core/json-patch.js';
import type { PartitionPartial } from './partial.js';

/**
 * Partials on `metrics.partials` as changes. A round of partials at 512,250 nodes is about 2 MB of
 * JSON (the noise stations' rows half of it, the parking lots a fifth), of which a fraction of a
 * second's readings change a few percent; sent whole several times a second it cost more than the
 * readings it reported (on Kafka the process stage fell behind at 5,000 readings/s). Where partials
 * follow the readings (the embedded logs), each partition's partial is now sent whole now and then
 * and as a JSON Patch of the one before in between; on the 1 s beat (Kafka) it is sent whole.
 *
 * - A whole partial (key: its source) carries the writer's `epoch` and a `seq`; a delta (key:
 *   `<source>#delta`) the same epoch, the `base` seq it applies to, its own `seq` and the patch.
 * - A reader applies a delta only on top of exactly its base, else skips it and keeps the partial it
 *   holds until the next whole one: never a partial half old, half new. A delta is never needed
 *   to read the topic back: compaction keeps each source's latest whole partial (its own key), at
 *   most FULL_PARTIAL_EVERY_MS old, and its next one follows within that time.
 * - The writer diffs against its own copy of what it sent, as a reader parsed it (not against the
 *   objects the kind processors built, which they may reuse), so a reader applying the chain holds
 *   exactly the JSON of the latest partial.
 */
export interface PartialDelta {
  source: string;
  epoch: string;
  /** The seq of the partial this applies to, and the seq of the result. */
  base: number;
  seq: number;
  patch: PatchOp[];
}

/** How often a partition's partial is sent whole (also: the longest a reader starting from the compacted topic waits for current partials). */
export const FULL_PARTIAL_EVERY_MS = 10_000;

/** The record key of a source's deltas (its whole partials are keyed by the source). */
export const deltaKey = (source: string): string => `${source}#delta`;

const isDelta = (record: object): record is PartialDelta => Array.isArray((record as Partial<PartialDelta>).patch);

/** The writer's side: one per processor instance. */
export class PartialEncoder {
  readonly #epoch = randomUUID();
  readonly #held = new Map<string, { doc: PartitionPartial & { seq: number }; fullAt: number; fullBytes: number }>();
  #seq = 0;

  constructor(private readonly wall: () => number) {}

  /**
   * The record of `partial`: whole when due (or when the delta would be half as large), else its
   * changes. `deltas` false: whole, and nothing kept to compare the next one with (that one is
   * whole too): comparing a round with the last costs more than writing it once a second (on
   * Kafka, on the beat: 5 % of the process stage's samples at 15,000 readings/s, against about 2 %
   * for the whole round); several times a second the deltas are far cheaper.
   */
  encode(partial: PartitionPartial, deltas = true): { key: string; value: Buffer } {
    const held = this.#held.get(partial.source);
    const seq = ++this.#seq;
    if (deltas && held && this.wall() - held.fullAt < FULL_PARTIAL_EVERY_MS) {
      // Compared as sent: the same epoch and seq, so only the content differs.
      const patch = diff(held.doc, { ...partial, epoch: this.#epoch, seq: held.doc.seq });
      const text = JSON.stringify({ source: partial.source, epoch: this.#epoch, base: held.doc.seq, seq, patch } satisfies PartialDelta);
      if (text.length * 2 < held.fullBytes) {
        // Its own parse: values as a reader has them, shared with nothing the processors still hold.
        applyPatch(held.doc, (JSON.parse(text) as PartialDelta).patch);
        held.doc.seq = seq;
        return { key: deltaKey(partial.source), value: Buffer.from(text) };
      }
    }
    const text = JSON.stringify({ ...partial, epoch: this.#epoch, seq });
    if (!deltas) {
      this.#held.delete(partial.source);
      return { key: partial.source, value: Buffer.from(text) };
    }
    this.#held.set(partial.source, {
      doc: JSON.parse(text) as PartitionPartial & { seq: number },
      fullAt: this.wall(),
      fullBytes: text.length,
    });
    return { key: partial.source, value: Buffer.from(text) };
  }

  /** A source no longer owned: if it comes back, its first partial is whole. */
  forget(source: string): void {
    this.#held.delete(source);
  }
}

/** What a reader did with one record. */
export type Taken = 'whole' | 'delta' | 'skipped' | 'unreadable' | 'broken';

/** The reader's side: the latest partial of every source, from whole partials and the deltas on top of them. */
export class PartialStore {
  readonly #partials = new Map<string, PartitionPartial>();

  /** Takes one record's parsed value. A delta whose base is not the partial held is skipped. */
  take(record: unknown): Taken {
    if (typeof record !== 'object' || record === null || typeof (record as { source?: unknown }).source !== 'string') return 'unreadable';
    if (!isDelta(record)) {
      this.#partials.set((record as PartitionPartial).source, record as PartitionPartial);
      return 'whole';
    }
    const held = this.#partials.get(record.source);
    if (!held || held.epoch !== record.epoch || held.seq !== record.base) return 'skipped';
    try {
      applyPatch(held, record.patch);
    } catch {
      // Cannot happen to a patch of its base; if it did, the partial is half changed: dropped until the next whole one.
      this.#partials.delete(record.source);
      return 'broken';
    }
    held.seq = record.seq;
    return 'delta';
  }

  values(): IterableIterator<PartitionPartial> {
    return this.#partials.values();
  }
}
