/**
 * Recognises a reading delivered twice (at-least-once log, a device resending an unacknowledged
 * publish, a gateway replaying its buffer): same node and same `seq`, or same node and same event
 * timestamp, as one of its last few readings. A device that restarts its `seq` counter is
 * recognised again after `depth` new readings. Processing is idempotent anyway; this keeps the
 * processed count exact and keeps a resent reading out of the late check.
 */
export class Deduplicator {
  /**
   * Per node: its last `depth` readings as a ring of (ts, seq) pairs (NaN: none) followed by the
   * slot written next, in one flat array of doubles. Every node of a city has one, in the
   * processors and the API's replica: an array of [ts, seq] pairs cost 250-450 bytes a node, this
   * costs 120 (depth 4).
   */
  readonly #recent = new Map<string, number[]>();

  constructor(private readonly depth = 4) {}

  /** True if seen before; otherwise remembers it. */
  seen(nodeId: string, ts: number, seq?: number): boolean {
    let ring = this.#recent.get(nodeId);
    if (!ring) this.#recent.set(nodeId, (ring = this.#ring()));
    const depth = this.depth;
    for (let i = 0; i < 2 * depth; i += 2) if (ring[i] === ts || (seq !== undefined && ring[i + 1] === seq)) return true;
    this.#put(ring, ts, seq ?? NaN);
    return false;
  }

  #ring(): number[] {
    const ring = new Array<number>(2 * this.depth + 1).fill(NaN);
    ring[2 * this.depth] = 0;
    return ring;
  }

  /** Writes over the oldest pair. */
  #put(ring: number[], ts: number, seq: number): void {
    const depth = this.depth;
    const at = ring[2 * depth]!;
    ring[2 * at] = ts;
    ring[2 * at + 1] = seq;
    ring[2 * depth] = (at + 1) % depth;
  }

  /** The node's remembered readings as [ts, seq | null] pairs, oldest first (the snapshot format). */
  exportNode(nodeId: string): unknown {
    const ring = this.#recent.get(nodeId);
    if (!ring) return undefined;
    const depth = this.depth;
    const out: [number, number | null][] = [];
    for (let k = 0; k < depth; k++) {
      const i = ((ring[2 * depth]! + k) % depth) * 2;
      if (!Number.isNaN(ring[i])) out.push([ring[i]!, Number.isNaN(ring[i + 1]) ? null : ring[i + 1]!]);
    }
    return out;
  }

  importNode(nodeId: string, state: unknown): void {
    const ring = this.#ring();
    for (const [t, s] of state as [number, number | null][]) this.#put(ring, t, s ?? NaN);
    this.#recent.set(nodeId, ring);
  }
}
