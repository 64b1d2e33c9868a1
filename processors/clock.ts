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

  /** Event time of the first reading this process saw: silence is judged from here, not from before it started. */
  get since(): number {
    return this.#first ?? this.now();
  }

  now(): number {
    if (this.#watermark === undefined) return this.wall();
    return this.#watermark + Math.max(0, this.wall() - this.#wallAtWatermark);
  }
}
