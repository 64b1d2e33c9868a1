import { partitionFor, type NodeRegistry, type RegistryNode } from '../core/index.js';

/** Registry nodes of one raw partition, in registry order, and its lists (built on first use after a change). */
interface PartitionNodes {
  nodes: Map<string, RegistryNode>;
  all?: RegistryNode[];
  byKind?: Map<string, RegistryNode[]>;
}

/**
 * Registry nodes of each raw partition, by kind, placed by key as ingest placed them: a
 * partition's partial and snapshot cover exactly the nodes whose readings it carries. The lists
 * keep registry order and are the same arrays on every call until a registry change touches
 * their partition (the processors cache per list, so new arrays make them lay it out again);
 * `follow` keeps the index current with the registry's changes.
 */
export class PartitionIndex {
  readonly #byPartition = new Map<number, PartitionNodes>();

  constructor(
    nodes: Iterable<RegistryNode>,
    private readonly partitions: number,
  ) {
    for (const node of nodes) this.#entry(node.nodeId).nodes.set(node.nodeId, node);
  }

  /** Applies the registry's changes to the index from now on; returns the unsubscribe. */
  follow(registry: NodeRegistry): () => void {
    return registry.onChange(({ nodes }) => {
      for (const id of nodes) {
        const entry = this.#entry(id);
        const node = registry.get(id);
        if (node) entry.nodes.set(id, node);
        else entry.nodes.delete(id);
        entry.all = undefined;
        entry.byKind = undefined;
      }
    });
  }

  #entry(nodeId: string): PartitionNodes {
    const p = partitionFor(nodeId, this.partitions);
    let entry = this.#byPartition.get(p);
    if (!entry) this.#byPartition.set(p, (entry = { nodes: new Map() }));
    return entry;
  }

  #lists(partition: number): { all: RegistryNode[]; byKind: Map<string, RegistryNode[]> } | undefined {
    const entry = this.#byPartition.get(partition);
    if (!entry) return undefined;
    if (!entry.all || !entry.byKind) {
      entry.all = [...entry.nodes.values()];
      entry.byKind = new Map();
      for (const node of entry.all) {
        let list = entry.byKind.get(node.kind);
        if (!list) entry.byKind.set(node.kind, (list = []));
        list.push(node);
      }
    }
    return { all: entry.all, byKind: entry.byKind };
  }

  /** Every node of the partition (none for a partition without nodes). */
  all(partition: number): readonly RegistryNode[] {
    return this.#lists(partition)?.all ?? [];
  }

  /** The partition's nodes of one kind. */
  ofKind(partition: number, kind: string): readonly RegistryNode[] {
    return this.#lists(partition)?.byKind.get(kind) ?? [];
  }
}
