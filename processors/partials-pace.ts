import type { StreamTransport } from '../core/index.js';
import type { Pace } from './ticker.js';

/**
 * Partials go out soon after new readings, not only on the EVAL_INTERVAL_MS beat (which stays for
 * what time alone changes: a node falling silent, the night coming), so a reading reaches the KPIs
 * in a fraction of a second; under a steady stream at least 200 ms apart (at 100 ms a city at its
 * real-time rate spent twice the CPU of the beat on partials and evaluations) and four times as
 * long apart as the last build cost (at most a quarter of a core on partials, however large the
 * city). Each goes as the changes since the one before (./partial-delta.ts): a whole round is
 * 2 MB at 512,250 nodes, to serialise, write, read back and parse, none of it in the build's cost.
 */
export const PARTIALS_PACE: Pace = { delayMs: 20, minGapMs: 200, costFactor: 4 };

/** On Kafka, a stage whose newest reading was appended longer ago than this is behind... */
export const BEHIND_MS = 1_000;
/** ...and caught up again once under this (not at every batch that happens to cross the line). */
export const CAUGHT_UP_MS = 250;

/**
 * When a processor's partials follow the readings, and whether they go as changes. On the
 * embedded logs: always, at PARTIALS_PACE, as changes. On Kafka (state in the log) the process
 * stage also pays kafkajs for every record it reads, and shares the two cores with the broker, the
 * api stage and the simulator: there they follow the readings only while the stage keeps up; a
 * stage behind leaves them to the beat, whole, which costs it least. Partials at the pace
 * throughout fell behind at 15,000 readings/s (12,454/s processed of 14,547/s) where the beat
 * kept up in the same hour (15,699/s); deltas on the beat cost more than the whole round (5 % of
 * the stage's samples against 2 %). README, Benchmark.
 */
export class PartialsPace {
  #behind = false;

  /** `now`: the clock the log stamps its records with (the real one, not the city's simulated time). */
  constructor(
    private readonly transport: Pick<StreamTransport, 'stateIn'>,
    private readonly now: () => number = Date.now,
  ) {}

  /** After a batch of new readings whose newest was appended at `appendedAt`: whether partials should go soon. */
  afterReadings(appendedAt: number): boolean {
    if (this.transport.stateIn !== 'log') return true;
    this.#behind = this.now() - appendedAt > (this.#behind ? CAUGHT_UP_MS : BEHIND_MS);
    return !this.#behind;
  }

  /** Whether the next round may go as changes since the last. */
  get deltas(): boolean {
    return !this.#behind;
  }
}
