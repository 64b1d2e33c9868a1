import type { AlertCondition, Config, Kind, NodeOf, NodeRegistry, ReadingRecord } from '../core/index.js';

/** What every evaluation sees: one instant of the processors' clock. */
export interface EvalContext {
  now: number;
  /** When this process started seeing data (event time); a node never heard from is "unknown", not "silent", until its interval x grace has passed since then. */
  since: number;
  config: Config;
  registry: NodeRegistry;
}

export interface Evaluation {
  kpis: Record<string, unknown>;
  conditions: AlertCondition[];
}

/** One stateful processor per sensor kind; a new kind adds one of these and one line in the host. */
export interface KindProcessor<K extends Kind = Kind> {
  readonly kind: K;
  /** Applies one accepted reading. Must be idempotent: a replayed reading changes nothing. */
  apply(record: ReadingRecord<K>, node: NodeOf<K>): void;
  evaluate(ctx: EvalContext): Evaluation;
  /** Latest reading and what the processor derived for one node, for the API. */
  describe(node: NodeOf<K>, ctx: EvalContext): { latest?: Record<string, unknown>; derived?: Record<string, unknown> };
}

export function ratio(part: number, whole: number): number | null {
  return whole === 0 ? null : part / whole;
}
