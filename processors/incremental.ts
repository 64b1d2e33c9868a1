import { DueHeap } from '../core/index.js';

/**
 * Incremental evaluation of a node list. A partial used to judge every node of its partition at
 * every evaluation (every second): at 500,000 nodes that alone took most of a core. A node's
 * judgement only changes when its state changes (a reading applied or restored) or when time
 * passes a point the judgement itself names (its report goes stale, the warm-up ends, the local
 * day turns). So each node's judgement is kept with the time it holds until, and an evaluation
 * re-judges only the nodes changed since the last one and those whose time has come: the work
 * follows the readings, not the size of the city.
 */

/**
 * The nodes whose state changed, in order, as one log that every list reads from its own
 * position. Bounded: when it grows past `limit` it is cleared, and a list that had not read up
 * to the end judges all its nodes again (correct, only slower).
 *
 * Each node is noted by a number of its own (its slot, given on first sight): every list of a
 * processor (one per log partition) reads every change, and tells its own by one bit per slot
 * instead of looking each node's id up in a map (at 500,000 nodes and 12 partitions that lookup
 * was the largest part of an evaluation).
 */
export class ChangeLog {
  readonly #slots = new Map<string, number>();
  #notes: number[] = [];
  /** Position of `#notes[0]` since the log began. */
  #base = 0;
  /**
   * Whether a list has read the log: before, nothing needs noting (a list judges all its nodes at
   * its first update), and in the API's replica, whose lists are never built, nothing ever does.
   */
  #read = false;

  constructor(private readonly limit = 1 << 20) {}

  /** The node's slot (a new one on first sight). */
  slot(nodeId: string): number {
    let slot = this.#slots.get(nodeId);
    if (slot === undefined) this.#slots.set(nodeId, (slot = this.#slots.size));
    return slot;
  }

  note(nodeId: string): void {
    if (!this.#read) return;
    if (this.#notes.length >= this.limit) {
      this.#base += this.#notes.length;
      this.#notes = [];
    }
    this.#notes.push(this.slot(nodeId));
  }

  get end(): number {
    this.#read = true;
    return this.#base + this.#notes.length;
  }

  /** The slots noted from position `from` on, or null when some of them were dropped. */
  since(from: number): readonly number[] | null {
    if (from < this.#base) return null;
    return this.#notes.slice(from - this.#base);
  }
}

/** A node's judgement as the owning processor encodes it (small and comparable), and until when it holds. */
export interface Judgement<C> {
  value: C;
  /** Event time after which the judgement must be made again (Infinity: only a change of the node's state alters it). */
  until: number;
}

/** The evaluation a judgement is made in: its time, and whatever else the processor judges by. */
export interface Moment {
  now: number;
}

export interface IncrementalOptions<C, M extends Moment> {
  /** Judges node `i` of the list in the evaluation `at`. */
  judge(i: number, at: M): Judgement<C>;
  /** Counts node `i` in (or out of) the list's tallies. */
  add(i: number, value: C): void;
  remove(i: number, value: C): void;
  /** Forgets every tally (before all nodes are judged again). */
  reset(): void;
}

/**
 * Keeps the judgements of one node list current. `update(at, key)` brings the tallies to `at.now`:
 * nodes changed since the last update and nodes whose judgement expired are judged again; a
 * different `key` (something every judgement depends on: a setting, the lamp timetable) or time
 * running backwards (a restore, a replay) judges them all.
 */
export class IncrementalList<C, M extends Moment = Moment> {
  readonly #values: (C | undefined)[];
  readonly #until: Float64Array;
  /** Time of each node's live heap entry (NaN: none). At most one per node, so the heap stays as small as the list. */
  readonly #queued: Float64Array;
  /** Which slots of the log are nodes of this list (a bit each), and each one's position in it. */
  readonly #members: Uint8Array;
  readonly #index: Map<number, number>;
  /** Nodes by the time their judgement is due; an entry whose time is not its node's `#queued` is stale and skipped. */
  #due: DueHeap;
  #position = -1;
  #now = -Infinity;
  #key: string | undefined;

  constructor(
    ids: readonly string[],
    private readonly log: ChangeLog,
    private readonly o: IncrementalOptions<C, M>,
  ) {
    this.#values = new Array<C | undefined>(ids.length);
    this.#until = new Float64Array(ids.length);
    this.#queued = new Float64Array(ids.length).fill(Number.NaN);
    this.#index = new Map(ids.map((id, i) => [log.slot(id), i]));
    let top = -1;
    for (const slot of this.#index.keys()) top = Math.max(top, slot);
    this.#members = new Uint8Array((top >> 3) + 1);
    for (const slot of this.#index.keys()) this.#members[slot >> 3]! |= 1 << (slot & 7);
    this.#due = new DueHeap(ids.length);
  }

  /** Node `i`'s current judgement (after an update). */
  valueOf(i: number): C | undefined {
    return this.#values[i];
  }

  update(at: M, key = ''): void {
    const { now } = at;
    const changed = this.#position < 0 || key !== this.#key || now < this.#now ? null : this.log.since(this.#position);
    this.#position = this.log.end;
    this.#key = key;
    this.#now = now;
    if (changed === null) return this.#judgeAll(at);
    const members = this.#members;
    for (const slot of changed) {
      // Most changes are other lists' nodes: one bit tells (a slot past the bits is a node seen after this list was made).
      if (slot >> 3 >= members.length || (members[slot >> 3]! & (1 << (slot & 7))) === 0) continue;
      const i = this.#index.get(slot);
      if (i !== undefined) this.#judge(i, at);
    }
    while (this.#due.peekTime() < now) {
      const time = this.#due.peekTime();
      const i = this.#due.pop();
      if (this.#queued[i] !== time) continue;
      this.#queued[i] = Number.NaN;
      // Judged again since it was queued (a newer reading): only its new time is due, later.
      if (this.#until[i]! < now) this.#judge(i, at);
      else this.#schedule(i);
    }
  }

  #judgeAll(at: M): void {
    this.o.reset();
    this.#values.fill(undefined);
    this.#due = new DueHeap(this.#values.length);
    this.#queued.fill(Number.NaN);
    for (let i = 0; i < this.#values.length; i++) this.#judge(i, at);
  }

  #judge(i: number, at: M): void {
    const { value, until } = this.o.judge(i, at);
    const before = this.#values[i];
    if (before !== value) {
      if (before !== undefined) this.o.remove(i, before);
      this.o.add(i, value);
      this.#values[i] = value;
    }
    this.#until[i] = until;
    this.#schedule(i);
  }

  /** Queues the node at its judgement's time unless an earlier entry of it is queued already (that one re-queues it when due). */
  #schedule(i: number): void {
    const until = this.#until[i]!;
    if (until === Infinity || this.#queued[i]! <= until) return;
    this.#queued[i] = until;
    this.#due.push(i, until);
  }
}
