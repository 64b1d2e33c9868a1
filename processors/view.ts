import type { PipelineEvent, PipelineView } from '../core/index.js';
import type { Aggregator } from './aggregator.js';
import type { ProcessorHost } from './host.js';

/** KPIs and the alert lifecycle as the API sees them: the aggregator of this process, or the elected one of several (ElectedAggregation). */
export type Aggregation = Pick<Aggregator, 'ready' | 'kpis' | 'alerts' | 'acknowledge' | 'note' | 'subscribe' | 'tick' | 'start' | 'stop'>;

/** The API's view: node state from a processor host (or replica), KPIs and alerts from the aggregation. */
export function pipelineView(nodes: ProcessorHost, aggregate: Aggregation): PipelineView {
  return {
    ready: () => nodes.ready() && aggregate.ready(),
    kpis: () => aggregate.kpis(),
    nodes: (query) => nodes.nodes(query),
    node: (id) => nodes.node(id),
    alerts: (state) => aggregate.alerts(state),
    acknowledge: (id, actor, note) => aggregate.acknowledge(id, actor, note),
    note: (id, actor, text) => aggregate.note(id, actor, text),
    subscribe(listener: (event: PipelineEvent) => void) {
      const offNodes = nodes.subscribe(listener);
      const offAggregate = aggregate.subscribe(listener);
      return () => {
        offNodes();
        offAggregate();
      };
    },
  };
}
