import type { NodeRegistry } from './registry.js';

/** A position on the city's map (WGS 84 degrees). */
export interface Place {
  lat: number;
  lon: number;
}

interface Places {
  version: number;
  lots: Map<string, Place>;
  circuits: Map<string, Place>;
}
const placesCache = new WeakMap<NodeRegistry, Places>();

function centroids(nodes: Iterable<{ key: string; lat: number; lon: number }>): Map<string, Place> {
  const sums = new Map<string, { lat: number; lon: number; n: number }>();
  for (const { key, lat, lon } of nodes) {
    const s = sums.get(key) ?? { lat: 0, lon: 0, n: 0 };
    s.lat += lat;
    s.lon += lon;
    s.n++;
    sums.set(key, s);
  }
  return new Map([...sums].map(([k, s]) => [k, { lat: s.lat / s.n, lon: s.lon / s.n }]));
}

/**
 * Lots and circuits have no coordinates of their own: the mean of their nodes' is theirs.
 * Recomputed when the registry changed.
 */
function places(registry: NodeRegistry): Places {
  const cached = placesCache.get(registry);
  if (cached?.version === registry.version) return cached;
  const fresh: Places = {
    version: registry.version,
    lots: centroids(registry.ofKind('parking').map((n) => ({ key: n.lotId, lat: n.lat, lon: n.lon }))),
    circuits: centroids(registry.ofKind('streetlight').map((n) => ({ key: n.circuit, lat: n.lat, lon: n.lon }))),
  };
  placesCache.set(registry, fresh);
  return fresh;
}

/** Where a parking lot is (the centre of its detectors). */
export function lotPlace(registry: NodeRegistry, lotId: string): Place | undefined {
  return places(registry).lots.get(lotId);
}

/** Where an alert is: its node, else its circuit's or lot's centre; undefined for city-wide ones. */
export function alertPlace(labels: Record<string, string>, registry: NodeRegistry): Place | undefined {
  const node = labels.node ? registry.get(labels.node) : undefined;
  if (node) return { lat: node.lat, lon: node.lon };
  if (labels.circuit) return places(registry).circuits.get(labels.circuit);
  if (labels.lot) return lotPlace(registry, labels.lot);
  return undefined;
}
