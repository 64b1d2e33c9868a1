import type { AlertCondition } from '../core/index.js';
import type { HealthSection, RejectionSection } from './health/processor.js';

/**
 * One log partition's contribution at one evaluation, published to `metrics.partials` keyed by
 * its source partition (whole, or as the changes since the one before: ./partial-delta.ts). A newer
 * partial of the same partition replaces the older one, so a partition evaluated twice (replay,
 * hand-over to another instance) is never counted twice.
 */
export interface PartitionPartial {
  /** `topic:partition` this partial describes. */
  source: string;
  /**
   * Whether `at` follows readings: false while its instance has seen none (its clock is then the
   * wall clock, which must not set the city's time when the data is from another hour).
   */
  eventTime?: boolean;
  /** Event time of the evaluation, and since when its instance has been reading. */
  at: number;
  since: number;
  /** Each kind's section (built-in and profile kinds), by kind name. */
  kinds?: Record<string, unknown>;
  health?: HealthSection;
  rejections?: RejectionSection;
  /** Conditions about single nodes of this partition. */
  conditions: AlertCondition[];
  /** Which writer and which of its records this is, for the deltas on top of it (see ./partial-delta.ts); absent in older records. */
  epoch?: string;
  seq?: number;
}
