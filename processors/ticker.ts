import { performance } from 'node:perf_hooks';

/** The clock and timers a Ticker runs on (injected in tests: no sleeps, no wall clock). */
export interface TickerTimers {
  /** Milliseconds on a monotonic clock. */
  now(): number;
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(run: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export const REAL_TIMERS: TickerTimers = {
  now: () => performance.now(),
  setTimeout: (run, ms) => setTimeout(run, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  setInterval: (run, ms) => setInterval(run, ms),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};

/**
 * CPU time of this thread so far (ms): what an evaluation's work costs, whatever else the machine
 * runs (on two cores shared with other processes, wall time is several times the work).
 */
export function threadCpuMs(): number {
  const { user, system } = process.threadCpuUsage();
  return (user + system) / 1000;
}

/**
 * How `Ticker.soon` spaces the evaluations new input asks for: the first waits `delayMs` (input
 * that comes in a burst is handled once), and under input that never stops they begin at least
 * `minGapMs` apart and `costFactor` times as long apart as the last evaluation took, so they take
 * at most 1 / costFactor of the time whatever their cost.
 */
export interface Pace {
  delayMs: number;
  minGapMs: number;
  costFactor: number;
}

/** A burst handled once, without pacing: the aggregator's default before evaluations were paced. */
const BURST: Pace = { delayMs: 20, minGapMs: 0, costFactor: 0 };

/**
 * Runs an evaluation on a timer, never two at once; `tick()` also runs one on demand, and
 * `soon()` shortly after new input (while input keeps coming, the timer stays quiet: it only
 * covers what time alone changes).
 */
export class Ticker {
  #timer: unknown = null;
  #soon: unknown = null;
  #running: Promise<void> | null = null;
  /** When the last evaluation asked for by `soon()` began. */
  #lastSoon = -Infinity;
  /** What the last evaluation cost (ms; see the constructor). */
  #lastRunMs = 0;
  #stopped = false;

  /**
   * `run` may resolve to what the evaluation cost (ms of work, e.g. `threadCpuMs` around it, without
   * the writes it waited for): what paces `soon()`; otherwise its wall time counts.
   */
  constructor(
    private readonly run: () => Promise<number | void>,
    private readonly onError: (error: unknown) => void,
    private readonly timers: TickerTimers = REAL_TIMERS,
  ) {}

  tick(): Promise<void> {
    if (this.#running) return this.#running;
    const started = this.timers.now();
    this.#running = this.run()
      .then(
        (cost) => void (this.#lastRunMs = cost ?? this.timers.now() - started),
        (error: unknown) => {
          this.#lastRunMs = this.timers.now() - started;
          this.onError(error);
        },
      )
      .finally(() => (this.#running = null));
    return this.#running;
  }

  /**
   * Runs an evaluation after new input, paced by `pace` (see Pace); requests meanwhile coalesce
   * into it, and it waits for the one in progress.
   */
  soon(pace: Pace = BURST): void {
    if (this.#stopped || this.#soon !== null) return;
    const gap = Math.max(pace.minGapMs, pace.costFactor * this.#lastRunMs);
    const wait = Math.max(pace.delayMs, this.#lastSoon + gap - this.timers.now());
    this.#soon = this.timers.setTimeout(() => {
      void (this.#running ?? Promise.resolve()).then(() => {
        this.#soon = null;
        if (this.#stopped) return;
        this.#lastSoon = this.timers.now();
        void this.tick();
      });
    }, wait);
  }

  start(intervalMs: number): void {
    // A beat within an interval of an evaluation `soon()` asked for is skipped: input that comes
    // at least once an interval is evaluated as it comes, not a second time on the timer.
    this.#timer = this.timers.setInterval(() => {
      if (this.timers.now() - this.#lastSoon >= intervalMs) void this.tick();
    }, intervalMs);
  }

  /** Stops the timers and waits for an evaluation in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) this.timers.clearInterval(this.#timer);
    if (this.#soon !== null) this.timers.clearTimeout(this.#soon);
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
