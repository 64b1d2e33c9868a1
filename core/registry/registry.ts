import type { Kind } from '../kinds/index.js';
import { KINDS } from '../kinds/index.js';
import type { NodeOf, RegistryNode } from './node.js';

/** The static attributes of every known node, indexed the ways the stages look them up. */
export class NodeRegistry {
  readonly #byId = new Map<string, RegistryNode>();
  readonly #byKind = new Map<Kind, RegistryNode[]>();

  constructor(nodes: Iterable<RegistryNode> = []) {
    for (const node of nodes) this.add(node);
  }

  /** Adds a node; a second node with the same id is a registry error, not a silent overwrite. */
  add(node: RegistryNode): void {
    if (this.#byId.has(node.nodeId)) throw new Error(`duplicate nodeId ${node.nodeId} in registry`);
    this.#byId.set(node.nodeId, node);
    let list = this.#byKind.get(node.kind);
    if (!list) this.#byKind.set(node.kind, (list = []));
    list.push(node);
  }

  get(nodeId: string): RegistryNode | undefined {
    return this.#byId.get(nodeId);
  }

  has(nodeId: string): boolean {
    return this.#byId.has(nodeId);
  }

  ofKind<K extends Kind>(kind: K): readonly NodeOf<K>[] {
    return (this.#byKind.get(kind) ?? []) as NodeOf<K>[];
  }

  all(): IterableIterator<RegistryNode> {
    return this.#byId.values();
  }

  get size(): number {
    return this.#byId.size;
  }

  districts(): string[] {
    const set = new Set<string>();
    for (const n of this.#byId.values()) set.add(n.district);
    return [...set].sort();
  }

  /** Seconds within which a healthy node reports (registry override, else the kind's default). */
  expectedIntervalS(node: RegistryNode): number {
    return node.expectedIntervalS ?? KINDS[node.kind].expectedIntervalS;
  }
}
