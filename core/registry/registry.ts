import type { Kind, KindCatalog } from '../kinds/index.js';
import type { NodeOf, RegistryNode } from './node.js';
import { roadInstallations, type RoadDesign, type RoadInstallation } from './roads.js';

/** The static attributes of every known node, indexed the ways the stages look them up. */
export class NodeRegistry {
  readonly #byId = new Map<string, RegistryNode>();
  readonly #byKind = new Map<string, RegistryNode[]>();
  readonly #roads = new Map<string, RoadDesign>();
  #installations: RoadInstallation[] | null = null;

  /** `roads`: the lighting design (designed lamp positions per road), optional. */
  /** `kinds`: the kinds its nodes may be (the built-in ones and the profile kinds). */
  constructor(
    nodes: Iterable<RegistryNode>,
    roads: Iterable<RoadDesign>,
    readonly kinds: KindCatalog,
  ) {
    for (const node of nodes) this.add(node);
    for (const road of roads) this.addRoad(road);
  }

  addRoad(road: RoadDesign): void {
    if (this.#roads.has(road.road)) throw new Error(`duplicate road ${road.road} in registry`);
    this.#roads.set(road.road, road);
    this.#installations = null;
  }

  /** The roads declared by the registry file (empty for files without a road list). */
  declaredRoads(): RoadDesign[] {
    return [...this.#roads.values()];
  }

  /** Every road (declared, or only named by lamps) with designed and installed lamp positions. */
  roads(): readonly RoadInstallation[] {
    return (this.#installations ??= roadInstallations(this.declaredRoads(), this.ofKind('streetlight')));
  }

  /** Adds a node; a second node with the same id is a registry error, not a silent overwrite. */
  add(node: RegistryNode): void {
    if (this.#byId.has(node.nodeId)) throw new Error(`duplicate nodeId ${node.nodeId} in registry`);
    if (!this.kinds.has(node.kind))
      throw new Error(`node ${node.nodeId} has unknown kind ${node.kind} (one of ${this.kinds.names().join(', ')})`);
    this.#byId.set(node.nodeId, node);
    let list = this.#byKind.get(node.kind);
    if (!list) this.#byKind.set(node.kind, (list = []));
    list.push(node);
    if (node.kind === 'streetlight') this.#installations = null;
  }

  get(nodeId: string): RegistryNode | undefined {
    return this.#byId.get(nodeId);
  }

  has(nodeId: string): boolean {
    return this.#byId.has(nodeId);
  }

  ofKind<K extends Kind>(kind: K): readonly NodeOf<K>[];
  ofKind(kind: string): readonly RegistryNode[];
  ofKind(kind: string): readonly RegistryNode[] {
    return this.#byKind.get(kind) ?? [];
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
    return node.expectedIntervalS ?? this.kinds.get(node.kind)!.expectedIntervalS;
  }
}
