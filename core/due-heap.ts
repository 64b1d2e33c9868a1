/** Binary min-heap of (time, node index): the node that reports next is always on top. */
export class DueHeap {
  #time: Float64Array;
  #idx: Int32Array;
  #size = 0;

  constructor(capacity: number) {
    this.#time = new Float64Array(Math.max(1, capacity));
    this.#idx = new Int32Array(Math.max(1, capacity));
  }

  get size(): number {
    return this.#size;
  }

  /** Due time of the top entry (Infinity when empty). */
  peekTime(): number {
    return this.#size > 0 ? this.#time[0]! : Infinity;
  }

  push(index: number, time: number): void {
    if (this.#size === this.#time.length) this.#grow();
    let i = this.#size++;
    const t = this.#time;
    const x = this.#idx;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pt = t[parent]!;
      if (pt < time || (pt === time && x[parent]! <= index)) break;
      t[i] = pt;
      x[i] = x[parent]!;
      i = parent;
    }
    t[i] = time;
    x[i] = index;
  }

  /** Removes the top entry and returns its node index (-1 when empty). */
  pop(): number {
    if (this.#size === 0) return -1;
    const t = this.#time;
    const x = this.#idx;
    const top = x[0]!;
    const n = --this.#size;
    if (n === 0) return top;
    const lastT = t[n]!;
    const lastX = x[n]!;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && (t[r]! < t[l]! || (t[r] === t[l] && x[r]! < x[l]!))) c = r;
      if (t[c]! > lastT || (t[c] === lastT && x[c]! >= lastX)) break;
      t[i] = t[c]!;
      x[i] = x[c]!;
      i = c;
    }
    t[i] = lastT;
    x[i] = lastX;
    return top;
  }

  #grow(): void {
    const t = new Float64Array(this.#time.length * 2);
    const x = new Int32Array(this.#idx.length * 2);
    t.set(this.#time);
    x.set(this.#idx);
    this.#time = t;
    this.#idx = x;
  }
}
