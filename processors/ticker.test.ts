import { describe, expect, it } from 'vitest';
import { EVALUATION_PACE } from './aggregator.js';
import { PARTIALS_PACE } from './partials-pace.js';
import { Ticker, type Pace, type TickerTimers } from './ticker.js';

/** Timers on a clock that only moves when the test says so. */
class FakeTimers implements TickerTimers {
  time = 0;
  #next = 1;
  readonly #due = new Map<number, { at: number; run: () => void; every?: number }>();

  now = () => this.time;
  setTimeout = (run: () => void, ms: number) => this.#add(run, ms);
  setInterval = (run: () => void, ms: number) => this.#add(run, ms, ms);
  clearTimeout = (handle: unknown) => void this.#due.delete(handle as number);
  clearInterval = (handle: unknown) => void this.#due.delete(handle as number);

  #add(run: () => void, ms: number, every?: number): number {
    const id = this.#next++;
    this.#due.set(id, { at: this.time + ms, run, every });
    return id;
  }

  /** Moves the clock to `time + ms`, running each timer at its time (and the promises it starts) in order. */
  async advance(ms: number): Promise<void> {
    const until = this.time + ms;
    for (;;) {
      await settle();
      const [id, timer] = [...this.#due].sort(([, a], [, b]) => a.at - b.at)[0] ?? [];
      if (id === undefined || !timer || timer.at > until) break;
      this.time = timer.at;
      if (timer.every) timer.at += timer.every;
      else this.#due.delete(id);
      timer.run();
    }
    this.time = until;
    await settle();
  }
}

/** Lets every promise already resolved run its continuations (one turn of the event loop; no clock involved). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A ticker whose evaluation takes `costMs` on the fake clock; records when each began. */
function setup(costMs = 0) {
  const timers = new FakeTimers();
  const starts: number[] = [];
  let cost = costMs;
  const ticker = new Ticker(
    async () => {
      starts.push(timers.time);
      await new Promise<void>((resolve) => timers.setTimeout(resolve, cost));
    },
    (error) => {
      throw error;
    },
    timers,
  );
  return { timers, starts, ticker, setCost: (ms: number) => (cost = ms) };
}

const PACE: Pace = { delayMs: 20, minGapMs: 100, costFactor: 4 };

/** New input every `everyMs` for `forMs`, each asking for an evaluation. */
async function input(timers: FakeTimers, ticker: Ticker, forMs: number, everyMs: number, pace = PACE): Promise<void> {
  for (let t = 0; t < forMs; t += everyMs) {
    ticker.soon(pace);
    await timers.advance(everyMs);
  }
}

describe('Ticker.soon', () => {
  it('runs once, delayMs after the first of a burst of requests', async () => {
    const { timers, starts, ticker } = setup();
    ticker.soon(PACE);
    await timers.advance(5);
    ticker.soon(PACE);
    ticker.soon(PACE);
    await timers.advance(100);
    expect(starts).toEqual([20]);
  });

  it('under input that never stops, begins evaluations minGapMs apart while they are cheap', async () => {
    const { timers, starts, ticker } = setup(10);
    await input(timers, ticker, 500, 5);
    // 20 (first request + delay), then every 100 ms (4 x 10 ms is less than the minimum gap).
    expect(starts).toEqual([20, 120, 220, 320, 420]);
  });

  it('spaces them costFactor times as long apart as the last took, so they take a bounded share of the time', async () => {
    const { timers, starts, ticker } = setup(50);
    await input(timers, ticker, 1000, 5);
    // Each takes 50 ms: once the first is done, each begins 4 x 50 = 200 ms after the one before.
    expect(starts).toEqual([20, 120, 320, 520, 720, 920]);
  });

  it('paces by the cost the evaluation reports (its work), not by the time it waited for writes', async () => {
    const timers = new FakeTimers();
    const starts: number[] = [];
    const ticker = new Ticker(
      async () => {
        starts.push(timers.time);
        await new Promise<void>((resolve) => timers.setTimeout(resolve, 300)); // waiting for a write
        return 25; // the work
      },
      () => {},
      timers,
    );
    await input(timers, ticker, 1000, 5);
    // Due 4 x 25 = 100 ms after the one before began, each waits for that one's write (300 ms) and
    // begins as it ends: 300 ms apart, not 4 x 300.
    expect(starts).toEqual([20, 320, 620, 920]);
  });

  it('input that arrives during an evaluation gets one evaluation after it (never lost, never two)', async () => {
    const { timers, starts, ticker, setCost } = setup(0);
    setCost(300);
    ticker.soon(PACE);
    await timers.advance(21); // begins at 20 and runs until 320
    expect(starts).toEqual([20]);
    ticker.soon(PACE);
    ticker.soon(PACE);
    setCost(0);
    await timers.advance(2000);
    // Due at 120 (no cost known yet), it waits for the one in progress and begins as that ends, once.
    expect(starts).toEqual([20, 320]);
  });

  it('waits for an evaluation still running when its time comes, then runs once', async () => {
    const { timers, starts, ticker } = setup(0);
    let release!: () => void;
    const slow = new Ticker(
      async () => {
        starts.push(timers.time);
        if (starts.length === 1) await new Promise<void>((r) => (release = r));
      },
      () => {},
      timers,
    );
    void ticker;
    void slow.tick(); // the beat's evaluation, still running
    slow.soon(PACE);
    await timers.advance(200);
    expect(starts).toEqual([0]);
    release();
    await timers.advance(1);
    expect(starts).toEqual([0, 200]);
  });
});

describe('the paces of the pipeline (README, EVAL_INTERVAL_MS)', () => {
  it('partials: at least 200 ms apart, and 4x as long apart as the last build cost', async () => {
    const cheap = setup(10);
    await input(cheap.timers, cheap.ticker, 1000, 5, PARTIALS_PACE);
    expect(cheap.starts).toEqual([20, 220, 420, 620, 820]);
    const costly = setup(100);
    await input(costly.timers, costly.ticker, 1500, 5, PARTIALS_PACE);
    expect(costly.starts).toEqual([20, 220, 620, 1020, 1420]);
  });

  it('evaluations: at least 100 ms apart, and 3x as long apart as the last cost', async () => {
    const cheap = setup(10);
    await input(cheap.timers, cheap.ticker, 500, 5, EVALUATION_PACE);
    expect(cheap.starts).toEqual([10, 110, 210, 310, 410]);
    const costly = setup(50);
    await input(costly.timers, costly.ticker, 700, 5, EVALUATION_PACE);
    expect(costly.starts).toEqual([10, 110, 260, 410, 560]);
  });
});

describe('Ticker beat', () => {
  it('evaluates every interval while no input comes, and skips the beat while input is evaluated as it comes', async () => {
    const { timers, starts, ticker } = setup(0);
    ticker.start(1000);
    await timers.advance(2000);
    expect(starts).toEqual([1000, 2000]);
    // Input from 2000 to 4000: evaluated every 100 ms; the beats at 3000 and 4000 fall within an interval of one of those.
    await input(timers, ticker, 2000, 50);
    const during = starts.filter((s) => s > 2000 && s <= 4000);
    expect(during).not.toContain(3000);
    expect(during).not.toContain(4000);
    expect(during.length).toBe(20);
    // The input of the last 100 ms is evaluated at 4020; the beat at 5000 is within an interval of it,
    // and comes back at 6000.
    await timers.advance(2000);
    expect(starts.filter((s) => s > 4000)).toEqual([4020, 6000]);
    await ticker.stop();
    await timers.advance(5000);
    expect(starts.filter((s) => s > 6000)).toEqual([]);
  });

  it('stop() cancels an evaluation asked for and not yet begun', async () => {
    const { timers, starts, ticker } = setup(0);
    ticker.soon(PACE);
    await ticker.stop();
    await timers.advance(1000);
    expect(starts).toEqual([]);
  });
});
