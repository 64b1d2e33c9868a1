import type { NodeQuery, NodeView, RegistryNode } from '../core/index.js';
import type { NodeHealth } from './health/processor.js';
import type { EvalContext, KindProcessor } from './types.js';

export interface ViewSources {
  readonly kinds: ReadonlyMap<string, KindProcessor>;
  readonly health: NodeHealth;
}

/** One node's view: its health, and with `detail` its latest reading and what its processor derived. */
export function nodeView(sources: ViewSources, node: RegistryNode, ctx: EvalContext, detail: boolean): NodeView {
  const view: NodeView = { node, health: sources.health.view(node, ctx) };
  if (detail) Object.assign(view, sources.kinds.get(node.kind)!.describe(node as never, ctx));
  return view;
}

/**
 * The registry's nodes (of `ctx.registry`, in its order) that match the query's kind, district and
 * status, one page of them (`offset`, `limit`, without detail), and how many match in all.
 */
export function nodeViews(sources: ViewSources, query: NodeQuery, ctx: EvalContext): { total: number; items: NodeView[] } {
  const items: NodeView[] = [];
  let total = 0;
  const candidates = query.kind ? ctx.registry.ofKind(query.kind) : ctx.registry.all();
  for (const node of candidates) {
    if (query.district && node.district !== query.district) continue;
    if (query.status && sources.health.online(node, ctx) !== (query.status === 'online')) continue;
    if (total >= query.offset && items.length < query.limit) items.push(nodeView(sources, node, ctx, false));
    total++;
  }
  return { total, items };
}
