/** Runs an evaluation on a timer, never two at once; `tick()` also runs one on demand. */
export class Ticker {
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;

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

  start(intervalMs: number): void {
    this.#timer = setInterval(() => void this.tick(), intervalMs);
  }

  /** Stops the timer and waits for an evaluation in progress. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
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
