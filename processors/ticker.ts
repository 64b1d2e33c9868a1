/**
 * Runs an evaluation on a timer, never two at once; `tick()` also runs one on demand, and
 * `soon()` shortly after a burst of new input (while input keeps coming, the timer stays quiet).
 */
export class Ticker {
  #timer: NodeJS.Timeout | null = null;
  #soon: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  /** When the last evaluation asked for by `soon()` began. */
  #lastSoon = -Infinity;
  #stopped = false;

  constructor(
    private readonly run: () => Promise<void>,
    private readonly onError: (error: unknown) => void,
  ) {}

  tick(): Promise<void> {
    this.#running ??= this.run()
      .catch(this.onError)
      .finally(() => (this.#running = null));
    return this.#running;
  }

  /**
   * Runs an evaluation `delayMs` from now (requests meanwhile coalesce into it), or right after
   * the one in progress: input that arrives in a burst (the partials of every partition of one
   * evaluation) is handled once, and without waiting for the timer.
   */
  soon(delayMs = 20): void {
    if (this.#stopped || this.#soon) return;
    this.#soon = setTimeout(() => {
      this.#soon = null;
      if (this.#stopped) return;
      void (this.#running ?? Promise.resolve()).then(() => {
        if (this.#stopped) return;
        this.#lastSoon = Date.now();
        void this.tick();
      });
    }, delayMs);
  }

  start(intervalMs: number): void {
    // A beat within an interval of an evaluation `soon()` asked for is skipped: input that comes
    // at least once an interval is evaluated as it comes, not a second time on the timer.
    this.#timer = setInterval(() => {
      if (Date.now() - this.#lastSoon >= intervalMs) void this.tick();
    }, intervalMs);
  }

  /** Stops the timers and waits for an evaluation in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#soon) clearTimeout(this.#soon);
    this.#timer = null;
    this.#soon = null;
    await this.#running;
  }
}

/** Subscribers of one event stream (the API's live stream). */
export class Listeners<E> {
  readonly #set = new Set<(event: E) => void>();

  get size(): number {
    return this.#set.size;
  }

  add(listener: (event: E) => void): () => void {
    this.#set.add(listener);
    return () => this.#set.delete(listener);
  }

  emit(event: E): void {
    for (const listener of this.#set) listener(event);
  }
}
