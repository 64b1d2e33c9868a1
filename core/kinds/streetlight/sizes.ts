import { restsAtHalfNight, type NodeRegistry } from '../../index.js';

/** Lamps per circuit or road, and those of them resting at half-night. */
export type Sizes = Map<string, [lamps: number, resting: number]>;

/**
 * The registry's circuits and roads with their lamp counts, in registry order. Static, so
 * partials need not carry them; and every stage loads the same registry, so a circuit's or
 * road's position in this order means the same in every process (partials count per position).
 * A registry change rebuilds the counts but keeps every position it had: new circuits and roads
 * are appended, one without lamps left keeps its place with none, so partials made before the
 * change still count for the right circuit.
 */
export interface LampIndex {
  /** The registry version it was built from. */
  version: number;
  lamps: number;
  circuits: Sizes;
  roads: Sizes;
  circuitIds: string[];
  roadIds: string[];
  circuitAt: Map<string, number>;
  roadAt: Map<string, number>;
}

const cache = new WeakMap<NodeRegistry, LampIndex>();

export function lampIndex(registry: NodeRegistry): LampIndex {
  const lamps = registry.ofKind('streetlight');
  const before = cache.get(registry);
  if (before?.version === registry.version) return before;
  const entry: LampIndex = {
    version: registry.version,
    lamps: lamps.length,
    circuits: new Map(),
    roads: new Map(),
    circuitIds: [...(before?.circuitIds ?? [])],
    roadIds: [...(before?.roadIds ?? [])],
    circuitAt: new Map(before?.circuitAt),
    roadAt: new Map(before?.roadAt),
  };
  for (const [ids, map] of [
    [entry.circuitIds, entry.circuits],
    [entry.roadIds, entry.roads],
  ] as const)
    for (const id of ids) map.set(id, [0, 0]);
  for (const lamp of lamps) {
    const rests = restsAtHalfNight(lamp.nodeId);
    for (const [map, ids, at, key] of [
      [entry.circuits, entry.circuitIds, entry.circuitAt, lamp.circuit],
      [entry.roads, entry.roadIds, entry.roadAt, lamp.road],
    ] as const) {
      let s = map.get(key);
      if (!s) {
        map.set(key, (s = [0, 0]));
        if (!at.has(key)) {
          at.set(key, ids.length);
          ids.push(key);
        }
      }
      s[0]++;
      if (rests) s[1]++;
    }
  }
  cache.set(registry, entry);
  return entry;
}

/** Lamps that should be lit now on a circuit or road (all, or those not resting at half-night), unknown ones included. */
export function activeLamps(sizes: Sizes, key: string, halfNight: boolean): number {
  const [lamps, resting] = sizes.get(key) ?? [0, 0];
  return halfNight ? lamps - resting : lamps;
}

/** Adds `counts` (one per position) into `into`, growing it as needed. */
export function addCounts(into: number[], counts: readonly number[] | undefined): void {
  if (!counts) return;
  for (let i = 0; i < counts.length; i++) into[i] = (into[i] ?? 0) + counts[i]!;
}
