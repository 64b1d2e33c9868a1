import type { PipelineView } from '../core/index.js';

/** A pipeline view with nothing in it, for tests of the HTTP layer; `overrides` replace its parts. */
export function stubView(overrides: Partial<PipelineView> = {}): PipelineView {
  return {
    ready: () => true,
    kpis: () => ({ evaluatedAt: 0 }) as never,
    nodes: () => ({ total: 0, items: [] }),
    node: () => undefined,
    alerts: () => [],
    acknowledge: async () => ({ ok: false, error: 'not-found' }),
    note: async () => ({ ok: false, error: 'not-found' }),
    subscribe: () => () => undefined,
    ...overrides,
  };
}
