import type {
  AlertCondition,
  Config,
  Kind,
  NodeOf,
  NodeRegistry,
  ProfileNode,
  ProfileReadingRecord,
  ReadingRecord,
} from '../core/index.js';

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

/**
 * A processor's contribution for one share of the nodes (one log partition): mergeable counts
 * (`section`, JSON) and the alert conditions that concern single nodes. Partitions are evaluated
 * by whichever instance owns them; the aggregator merges the latest partial of every partition.
 */
export interface KindPartial<S = unknown> {
  section: S;
  conditions: AlertCondition[];
}

/** The registry node of a kind: typed attributes for a built-in kind, the profile's for a profile kind. */
export type NodeFor<K extends string> = K extends Kind ? NodeOf<K> : ProfileNode;
export type RecordFor<K extends string> = K extends Kind ? ReadingRecord<K> : ProfileReadingRecord;

/** One stateful processor per sensor kind (built-in, or one per profile kind). */
export interface KindProcessor<K extends string = string, S = unknown> {
  readonly kind: K;
  /** Applies one accepted reading. Must be idempotent: a replayed reading changes nothing. */
  apply(record: RecordFor<K>, node: NodeFor<K>): void;
  partial(nodes: readonly NodeFor<K>[], ctx: EvalContext): KindPartial<S>;
  /**
   * One node's state as JSON for a state snapshot (undefined when the processor holds nothing for
   * it); `importNode` puts it back on restore. Snapshots are taken per log partition by the host
   * and serialised after the turn that took them: share nothing the processor mutates later.
   */
  exportNode(nodeId: string): unknown;
  importNode(nodeId: string, state: unknown): void;
  /** Latest reading and what the processor derived for one node, for the API. */
  describe(node: NodeFor<K>, ctx: EvalContext): { latest?: Record<string, unknown>; derived?: Record<string, unknown> };
}

/** Turns the partials of all partitions into the kind's KPIs and its group-level conditions. */
export interface KindMerger<S = unknown> {
  merge(sections: S[], ctx: EvalContext): Evaluation;
}

/**
 * Appends every item of `items` to `target`. Not `target.push(...items)`: spread arguments overflow
 * the stack beyond ~120,000 items, which a city of 500,000 nodes reaches (every lamp on in daytime).
 */
export function appendAll<T>(target: T[], items: readonly T[]): void {
  for (const item of items) target.push(item);
}

export function ratio(part: number, whole: number): number | null {
  return whole === 0 ? null : part / whole;
}

/** Evaluates one processor over all of its registry nodes as a single partition (tests, tools). */
export function evaluateWhole<K extends string, S>(processor: KindProcessor<K, S>, merger: KindMerger<S>, ctx: EvalContext): Evaluation {
  const { section, conditions } = processor.partial(ctx.registry.ofKind(processor.kind) as readonly NodeFor<K>[], ctx);
  const merged = merger.merge([section], ctx);
  return { kpis: merged.kpis, conditions: [...conditions, ...merged.conditions] };
}
