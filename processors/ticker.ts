/**
 * Runs an evaluation on a timer, never two at once; `tick()` also runs one on demand, and
 * `soon()` shortly after a burst of new input (the timer then skips a beat it would repeat).
 */
export class Ticker {
  #timer: NodeJS.Timeout | null = null;
  #soon: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #lastStart = -Infinity;
  #stopped = false;

  constructor(
    private readonly run: () => Promise<void>,
    private readonly onError: (error: unknown) => void,
  ) {}

  tick(): Promise<void> {
    this.#running ??= (() => {
      this.#lastStart = Date.now();
      return this.run()
        .catch(this.onError)
        .finally(() => (this.#running = null));
    })();
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
        if (!this.#stopped) void this.tick();
      });
    }, delayMs);
  }

  start(intervalMs: number): void {
    // A beat within half an interval of the last evaluation (one `soon()` ran) is skipped.
    this.#timer = setInterval(() => {
      if (Date.now() - this.#lastStart >= intervalMs / 2) void this.tick();
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
