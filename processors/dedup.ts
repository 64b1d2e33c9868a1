/**
 * Recognises a reading delivered twice (at-least-once log, a device resending an unacknowledged
 * publish, a gateway replaying its buffer): same node and same `seq`, or same node and same event
 * timestamp, as one of its last few readings. A device that restarts its `seq` counter is
 * recognised again after `depth` new readings. Processing is idempotent anyway; this keeps the
 * processed count exact and keeps a resent reading out of the late check.
 */
export class Deduplicator {
  /** Per node: the last few readings as [ts, seq | null], oldest first. */
  readonly #recent = new Map<string, [number, number | null][]>();

  constructor(private readonly depth = 4) {}

  /** True if seen before; otherwise remembers it. */
  seen(nodeId: string, ts: number, seq?: number): boolean {
    let list = this.#recent.get(nodeId);
    if (!list) this.#recent.set(nodeId, (list = []));
    if (list.some(([t, s]) => t === ts || (seq !== undefined && s === seq))) return true;
    list.push([ts, seq ?? null]);
    if (list.length > this.depth) list.shift();
    return false;
  }

  exportNode(nodeId: string): unknown {
    const list = this.#recent.get(nodeId);
    return list && list.map(([t, s]) => [t, s]);
  }

  importNode(nodeId: string, state: unknown): void {
    this.#recent.set(
      nodeId,
      (state as [number, number | null][]).map(([t, s]) => [t, s]),
    );
  }
}
