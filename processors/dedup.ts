/**
 * Recognises a reading delivered twice (at-least-once log, a device resending an unacknowledged
 * publish): same node and same event timestamp as one of its last few readings. Processing is
 * idempotent anyway; this keeps the processed count exact.
 */
export class Deduplicator {
  readonly #recent = new Map<string, number[]>();

  constructor(private readonly depth = 4) {}

  /** True if seen before; otherwise remembers it. */
  seen(nodeId: string, ts: number): boolean {
    let list = this.#recent.get(nodeId);
    if (!list) {
      this.#recent.set(nodeId, [ts]);
      return false;
    }
    if (list.includes(ts)) return true;
    list.push(ts);
    if (list.length > this.depth) list.shift();
    return false;
  }
}
