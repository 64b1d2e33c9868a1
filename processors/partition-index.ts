import { partitionFor, type RegistryNode } from '../core/index.js';

/** Registry nodes of one raw partition: all of them, and by kind. */
interface PartitionNodes {
  all: RegistryNode[];
  byKind: Map<string, RegistryNode[]>;
}

/**
 * Registry nodes of each raw partition, by kind, placed by key as ingest placed them: a
 * partition's partial and snapshot cover exactly the nodes whose readings it carries. The lists
 * keep registry order and are the same arrays on every call (the processors cache per list).
 */
export class PartitionIndex {
  readonly #byPartition = new Map<number, PartitionNodes>();

  constructor(nodes: Iterable<RegistryNode>, partitions: number) {
    for (const node of nodes) {
      const p = partitionFor(node.nodeId, partitions);
      let entry = this.#byPartition.get(p);
      if (!entry) this.#byPartition.set(p, (entry = { all: [], byKind: new Map() }));
      entry.all.push(node);
      let list = entry.byKind.get(node.kind);
      if (!list) entry.byKind.set(node.kind, (list = []));
      list.push(node);
    }
  }

  /** Every node of the partition (none for a partition without nodes). */
  all(partition: number): readonly RegistryNode[] {
    return this.#byPartition.get(partition)?.all ?? [];
  }

  /** The partition's nodes of one kind. */
  ofKind(partition: number, kind: string): readonly RegistryNode[] {
    return this.#byPartition.get(partition)?.byKind.get(kind) ?? [];
  }
}
