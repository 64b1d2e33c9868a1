import type { Kind, KindCatalog } from '../kinds/index.js';
import { gatewaySchema, type RegistryChange, type RegistryGateway } from './change.js';
import { parseNode, type NodeOf, type RegistryNode } from './node.js';
import { roadInstallations, roadSchema, type RoadDesign, type RoadInstallation } from './roads.js';

/** What one application of changes did: the node ids whose record changed (created, updated or decommissioned). */
export interface RegistryDelta {
  nodes: string[];
  gateways: string[];
  roads: string[];
}

/**
 * The static attributes of every known node, indexed the ways the stages look them up. Mutable
 * only through `apply` (change records from the `registry` topic): every change bumps `version`
 * (caches derived from the registry compare it) and is told to the listeners.
 */
export class NodeRegistry {
  readonly #byId = new Map<string, RegistryNode>();
  /** Per kind, its nodes in registry order; the arrays handed out by `ofKind` are rebuilt when the kind changes. */
  readonly #byKind = new Map<string, Map<string, RegistryNode>>();
  readonly #kindLists = new Map<string, RegistryNode[]>();
  readonly #roads = new Map<string, RoadDesign>();
  readonly #gateways = new Map<string, RegistryGateway>();
  /** Decommissioned nodes and gateways, as they were: their readings are rejected as `decommissioned`, not `unknown-node`. */
  readonly #retired = new Map<string, RegistryNode>();
  readonly #retiredGateways = new Map<string, RegistryGateway>();
  readonly #listeners = new Set<(delta: RegistryDelta) => void>();
  /**
   * One copy of each attribute value (kind, district, gateway, road, circuit, lot, ...): thousands
   * of nodes name the same one, and each stage holds every node, so one string per node and field
   * cost a third of a 500,000-node registry's heap (70 MB of 200, times three stages on Kafka).
   */
  readonly #strings = new Map<string, string>();
  #installations: RoadInstallation[] | null = null;
  #version = 0;

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

  /** Bumped by every change: caches derived from the registry are rebuilt when it moved. */
  get version(): number {
    return this.#version;
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
    this.#put(node);
  }

  #put(node: RegistryNode): void {
    if (!this.kinds.has(node.kind))
      throw new Error(`node ${node.nodeId} has unknown kind ${node.kind} (one of ${this.kinds.names().join(', ')})`);
    const before = this.#byId.get(node.nodeId);
    if (before && before.kind !== node.kind) this.#remove(before);
    this.#retired.delete(node.nodeId);
    this.#shareStrings(node);
    this.#byId.set(node.nodeId, node);
    let list = this.#byKind.get(node.kind);
    if (!list) this.#byKind.set(node.kind, (list = new Map<string, RegistryNode>()));
    list.set(node.nodeId, node);
    this.#kindChanged(node.kind);
  }

  /** Puts the interned copy of each string attribute (but the unique `nodeId`) in place of the node's own. */
  #shareStrings(node: RegistryNode): void {
    if (Object.isFrozen(node)) return;
    const fields = node as Record<string, unknown>;
    for (const key in fields) {
      const value = fields[key];
      if (typeof value !== 'string' || key === 'nodeId') continue;
      let shared = this.#strings.get(value);
      if (shared === undefined) this.#strings.set(value, (shared = value));
      fields[key] = shared;
    }
  }

  #remove(node: RegistryNode): void {
    this.#byId.delete(node.nodeId);
    this.#byKind.get(node.kind)?.delete(node.nodeId);
    this.#kindChanged(node.kind);
  }

  #kindChanged(kind: string): void {
    this.#kindLists.delete(kind);
    if (kind === 'streetlight') this.#installations = null;
  }

  /**
   * Applies change records in order (a create or update puts the entity as the record has it; a
   * decommission retires it) and tells the listeners once. A record that does not fit (a node
   * invalid for its kind) throws before anything of the batch is applied.
   */
  apply(changes: readonly RegistryChange[], options: { trusted?: boolean } = {}): RegistryDelta {
    // `trusted`: values this process judged already (its own writes): not parsed again.
    const parsed = changes.map((change) => ({ change, value: options.trusted ? change.value : this.#parse(change) }));
    const delta: RegistryDelta = { nodes: [], gateways: [], roads: [] };
    for (const { change, value } of parsed) {
      if (change.entity === 'node') {
        const node = value as RegistryNode;
        if (change.op === 'decommission') {
          const current = this.#byId.get(change.id);
          if (current) this.#remove(current);
          this.#retired.set(change.id, current ?? node);
        } else this.#put(node);
        delta.nodes.push(change.id);
      } else if (change.entity === 'gateway') {
        const gateway = value as RegistryGateway;
        if (change.op === 'decommission') {
          this.#gateways.delete(change.id);
          this.#retiredGateways.set(change.id, gateway);
        } else {
          this.#retiredGateways.delete(change.id);
          this.#gateways.set(change.id, gateway);
        }
        delta.gateways.push(change.id);
      } else {
        if (change.op === 'decommission') this.#roads.delete(change.id);
        else this.#roads.set(change.id, value as RoadDesign);
        this.#installations = null;
        delta.roads.push(change.id);
      }
    }
    if (parsed.length > 0) {
      this.#version++;
      for (const listener of this.#listeners) listener(delta);
    }
    return delta;
  }

  /** Throws what `apply` would throw for these changes, applying nothing (a writer checks before it publishes). */
  check(changes: readonly RegistryChange[]): void {
    for (const change of changes) this.#parse(change);
  }

  #parse(change: RegistryChange): unknown {
    const result =
      change.entity === 'node'
        ? parseNode(change.value, this.kinds)
        : change.entity === 'gateway'
          ? gatewaySchema.safeParse(change.value)
          : roadSchema.safeParse(change.value);
    if (!result.success)
      throw new Error(
        `registry change ${change.changeId} (${change.entity} ${change.id}): ${result.error.issues[0]?.message ?? 'invalid'}`,
      );
    const id = change.entity === 'node' ? 'nodeId' : change.entity === 'gateway' ? 'gatewayId' : 'road';
    if ((result.data as Record<string, unknown>)[id] !== change.id)
      throw new Error(`registry change ${change.changeId}: its ${change.entity} is not ${change.id}`);
    return result.data;
  }

  /** Forgets everything (before the registry is rebuilt from the topic). */
  clear(): void {
    for (const map of [
      this.#byId,
      this.#byKind,
      this.#kindLists,
      this.#roads,
      this.#gateways,
      this.#retired,
      this.#retiredGateways,
      this.#strings,
    ])
      map.clear();
    this.#installations = null;
    this.#version++;
  }

  /** Calls `listener` after every application of changes; returns the unsubscribe. */
  onChange(listener: (delta: RegistryDelta) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get(nodeId: string): RegistryNode | undefined {
    return this.#byId.get(nodeId);
  }

  has(nodeId: string): boolean {
    return this.#byId.has(nodeId);
  }

  /** The node as it was when decommissioned (undefined for a node in service or never known). */
  decommissioned(nodeId: string): RegistryNode | undefined {
    return this.#retired.get(nodeId);
  }

  decommissionedNodes(): IterableIterator<RegistryNode> {
    return this.#retired.values();
  }

  /** A gateway in service (a registry file's gateways are those its nodes' `gatewayId` name: see `seedChanges`). */
  gateway(gatewayId: string): RegistryGateway | undefined {
    return this.#gateways.get(gatewayId);
  }

  gateways(): IterableIterator<RegistryGateway> {
    return this.#gateways.values();
  }

  decommissionedGateway(gatewayId: string): RegistryGateway | undefined {
    return this.#retiredGateways.get(gatewayId);
  }

  /** The nodes whose `gatewayId` names the gateway (a scan: for the API, not per reading). */
  nodesBehind(gatewayId: string): RegistryNode[] {
    return [...this.#byId.values()].filter((n) => n.gatewayId === gatewayId);
  }

  /** Nodes of a kind in service (no list built). */
  count(kind: string): number {
    return this.#byKind.get(kind)?.size ?? 0;
  }

  ofKind<K extends Kind>(kind: K): readonly NodeOf<K>[];
  ofKind(kind: string): readonly RegistryNode[];
  ofKind(kind: string): readonly RegistryNode[] {
    let list = this.#kindLists.get(kind);
    if (!list) this.#kindLists.set(kind, (list = [...(this.#byKind.get(kind)?.values() ?? [])]));
    return list;
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
