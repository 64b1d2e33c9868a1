/**
 * The processors' clock runs on event time: it follows the newest reading timestamp seen and,
 * between readings, advances with the wall clock. A live city (timestamps close to now) reads as
 * the wall clock; a replay or a simulated night reads as the time of its data, so windows,
 * schedules and "has not reported" are judged in the data's own time.
 */
export class EventClock {
  #watermark: number | undefined;
  #wallAtWatermark = 0;
  #first: number | undefined;

  constructor(private readonly wall: () => number = Date.now) {}

  /** Moves the clock forward to an event's time; an event behind the clock never moves it back. */
  observe(eventTs: number): void {
    this.#first ??= eventTs;
    if (this.#watermark === undefined || eventTs > this.now()) {
      this.#watermark = eventTs;
      this.#wallAtWatermark = this.wall();
    }
  }

  /** Takes over what a restored state snapshot saw: its first event time and its newest one. */
  restore(first: number, newest: number): void {
    this.#first = this.#first === undefined ? first : Math.min(this.#first, first);
    this.observe(newest);
  }

  /** Event time of the first reading this process saw: silence is judged from here, not from before it started. */
  get since(): number {
    return this.#first ?? this.now();
  }

  get first(): number | undefined {
    return this.#first;
  }

  now(): number {
    if (this.#watermark === undefined) return this.wall();
    return this.#watermark + Math.max(0, this.wall() - this.#wallAtWatermark);
  }
}

/**
 * Event-time watermark of one log partition: the newest reading timestamp seen on it minus the
 * allowed lateness. Windows (minute, hour, day/night period, day) ending at or before it are
 * closed: a reading older than the watermark is late and is not applied. It depends only on the
 * partition's records in log order, so a rebuild reaches the same verdicts as the first pass.
 */
export class PartitionWatermark {
  /** Newest event time seen on the partition. */
  maxTs: number | undefined;

  constructor(
    readonly latenessMs: number,
    maxTs?: number,
  ) {
    this.maxTs = maxTs;
  }

  get value(): number | undefined {
    return this.maxTs === undefined ? undefined : this.maxTs - this.latenessMs;
  }

  /** True if `ts` is behind the watermark (its windows closed); otherwise advances it. */
  late(ts: number): boolean {
    const watermark = this.value;
    if (watermark !== undefined && ts < watermark) return true;
    if (this.maxTs === undefined || ts > this.maxTs) this.maxTs = ts;
    return false;
  }
}
