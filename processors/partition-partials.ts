import { TOPICS } from '../core/index.js';
import type { EventClock } from './clock.js';
import type { NodeHealth } from './health/processor.js';
import type { PartitionPartial } from './partial.js';
import type { PartitionIndex } from './partition-index.js';
import { appendAll, type EvalContext, type KindProcessor } from './types.js';

export interface PartialSources {
  readonly kinds: ReadonlyMap<string, KindProcessor>;
  readonly health: NodeHealth;
  readonly clock: EventClock;
  readonly index: PartitionIndex;
}

/** Splits an owned source, `topic:partition` (a topic name may hold a colon: the last one counts). */
export function parseSource(source: string): { topic: string; partition: number } {
  const colon = source.lastIndexOf(':');
  return { topic: source.slice(0, colon), partition: Number(source.slice(colon + 1)) };
}

/**
 * The partials of the owned sources (`topic:partition`), in source order: a raw partition's
 * carries every kind's section and its nodes' health; a dead-letter partition's its rejections
 * over the last minutes of wall clock (`wallNow`). They say whether `ctx.now` follows readings
 * (`eventTime`): not before the clock has seen one.
 */
export function buildPartials(owned: Iterable<string>, sources: PartialSources, ctx: EvalContext, wallNow: number): PartitionPartial[] {
  const { kinds, health, clock, index } = sources;
  const eventTime = clock.first !== undefined;
  const out: PartitionPartial[] = [];
  for (const source of [...owned].sort()) {
    const { topic, partition: p } = parseSource(source);
    if (topic === TOPICS.dlq) {
      out.push({ source, at: ctx.now, eventTime, since: ctx.since, rejections: health.rejections(p, wallNow), conditions: [] });
      continue;
    }
    const partial: PartitionPartial = { source, at: ctx.now, eventTime, since: ctx.since, kinds: {}, conditions: [] };
    for (const [kind, processor] of kinds) {
      const { section, conditions } = processor.partial(index.ofKind(p, kind), ctx);
      partial.kinds![kind] = section;
      appendAll(partial.conditions, conditions);
    }
    const h = health.partial(index.all(p), ctx);
    partial.health = h.section;
    appendAll(partial.conditions, h.conditions);
    out.push(partial);
  }
  return out;
}
