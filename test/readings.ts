import { seededRandom, type NodeRegistry } from '../core/index.js';

export interface Publish {
  topic: string;
  payload: string;
}

/**
 * A deterministic stream of valid readings over every node of a registry (round-robin, each
 * node's timestamps increasing; each reading its kind module's `sample`), for comparing runs: same
 * input, so the KPIs must be equal.
 */
export function readingStream(registry: NodeRegistry, count: number, base: number, seed = 7): Publish[] {
  const nodes = [...registry.all()];
  const rand = seededRandom(seed);
  const out: Publish[] = [];
  for (let i = 0; i < count; i++) {
    const node = nodes[i % nodes.length]!;
    const ts = base + Math.floor(i / nodes.length) * 60_000 + (i % 1000);
    const r = rand();
    const fields = registry.kinds.get(node.kind)!.sample(node, ts, r);
    out.push({
      topic: `city/${node.district}/${node.kind}/${node.nodeId}/telemetry`,
      payload: JSON.stringify({ ts, seq: Math.floor(i / nodes.length), ...fields }),
    });
  }
  return out;
}

/** KPIs without the fields that name the moment of evaluation. */
export function comparableKpis(kpis: unknown): unknown {
  return JSON.parse(
    JSON.stringify(kpis, (key, value) => (['evaluatedAt', 'rateAt', 'switchOn', 'switchOff', 'at'].includes(key) ? undefined : value)),
  );
}
