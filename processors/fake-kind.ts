import type { AnyReadingRecord, RegistryNode } from '../core/index.js';
import type { EvalContext, KindPartial, KindProcessor } from './types.js';

/**
 * A kind processor that remembers what it is given, for the tests of the host's parts: they check
 * what the host passes to a kind (which readings, which nodes), not what a real kind derives.
 */
export class FakeKind implements KindProcessor {
  /** Applied readings as `nodeId@ts`, in order. */
  readonly applied: string[] = [];
  /** Per node: the newest ts applied (its whole state). */
  readonly state = new Map<string, { ts: number }>();

  constructor(readonly kind: string) {}

  apply(record: AnyReadingRecord, node: RegistryNode): void {
    this.applied.push(`${node.nodeId}@${record.reading.ts}`);
    this.state.set(node.nodeId, { ts: record.reading.ts });
  }

  /** Section: the node ids it was given; one condition per node it has state for. */
  partial(nodes: readonly RegistryNode[], _ctx: EvalContext): KindPartial<{ nodes: string[] }> {
    return {
      section: { nodes: nodes.map((n) => n.nodeId) },
      conditions: nodes
        .filter((n) => this.state.has(n.nodeId))
        .map((n) => ({ alertname: 'Fake', severity: 'info', labels: { kind: this.kind, node: n.nodeId }, summary: n.nodeId })),
    };
  }

  exportNode(nodeId: string): unknown {
    return this.state.get(nodeId);
  }

  importNode(nodeId: string, state: unknown): void {
    this.state.set(nodeId, state as { ts: number });
  }

  describe(node: RegistryNode): { latest?: Record<string, unknown> } {
    const s = this.state.get(node.nodeId);
    return s ? { latest: { ts: s.ts } } : {};
  }
}
