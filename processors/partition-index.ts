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
 * `follow` keeps the index current with the registry's changes (see `settle`).
 */
export class PartitionIndex {
  readonly #byPartition = new Map<number, PartitionNodes>();
  /** Partitions changed since their lists were last built, and when the first and the last of those changes came. */
  readonly #dirty = new Set<PartitionNodes>();
  #firstChange = 0;
  #lastChange = 0;

  /**
   * `settle`: new lists are built once the registry has been quiet for `settleMs`, or at the latest
   * `maxStaleMs` after the first change: a bulk import of 500,000 nodes arrives as hundreds of
   * batches, and laying out every processor's lists again after each would keep a core busy.
   */
  constructor(
    nodes: Iterable<RegistryNode>,
    private readonly partitions: number,
    private readonly settle: { settleMs: number; maxStaleMs: number; now: () => number } = { settleMs: 0, maxStaleMs: 0, now: Date.now },
  ) {
    for (const node of nodes) this.#entry(node.nodeId).nodes.set(node.nodeId, node);
  }

  /** Applies the registry's changes to the index from now on; returns the unsubscribe. */
  follow(registry: NodeRegistry): () => void {
    return registry.onChange(({ nodes }) => {
      if (nodes.length === 0) return;
      const now = this.settle.now();
      if (this.#dirty.size === 0) this.#firstChange = now;
      this.#lastChange = now;
      for (const id of nodes) {
        const entry = this.#entry(id);
        const node = registry.get(id);
        if (node) entry.nodes.set(id, node);
        else entry.nodes.delete(id);
        this.#dirty.add(entry);
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
    if (this.#dirty.size > 0) {
      const now = this.settle.now();
      if (now - this.#lastChange >= this.settle.settleMs || now - this.#firstChange >= this.settle.maxStaleMs) {
        for (const entry of this.#dirty) entry.all = entry.byKind = undefined;
        this.#dirty.clear();
      }
    }
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
