import type { NodeRegistry, RegistryNode } from '../core/index.js';
import { seededRandom } from '../core/index.js';

export interface Publish {
  topic: string;
  payload: string;
}

/**
 * A deterministic stream of valid readings over every node of a registry (round-robin, each
 * node's timestamps increasing), for comparing runs: same input, so the KPIs must be equal.
 */
export function readingStream(registry: NodeRegistry, count: number, base: number, seed = 7): Publish[] {
  const nodes = [...registry.all()];
  const rand = seededRandom(seed);
  const out: Publish[] = [];
  for (let i = 0; i < count; i++) {
    const node = nodes[i % nodes.length]!;
    const ts = base + Math.floor(i / nodes.length) * 60_000 + (i % 1000);
    out.push({ topic: `city/${node.district}/${node.kind}/${node.nodeId}/telemetry`, payload: JSON.stringify({ ts, seq: Math.floor(i / nodes.length), ...values(node, rand()) }) });
  }
  return out;
}

function values(node: RegistryNode, r: number): Record<string, unknown> {
  switch (node.kind) {
    case 'streetlight':
      return r < 0.04 ? { powerState: 'off' } : { powerState: 'on', dim: 100, powerW: node.ratedW * (r < 0.06 ? 0.5 : 0.96), voltageV: 220 };
    case 'groundwater':
      return { waterTableM: Math.round((node.lines.yellow - 0.3 + r * 0.8) * 1000) / 1000 };
    case 'noise':
      return { laeq: Math.round((42 + r * 30) * 10) / 10, lamax: Math.round((55 + r * 30) * 10) / 10, periodS: 60 };
    case 'parking':
      return { status: r < 0.6 ? 'occupied' : 'free', batteryV: 3.3 };
  }
}

/** KPIs without the fields that name the moment of evaluation. */
export function comparableKpis(kpis: unknown): unknown {
  return JSON.parse(JSON.stringify(kpis, (key, value) => (['evaluatedAt', 'rateAt', 'switchOn', 'switchOff', 'at'].includes(key) ? undefined : value)));
}
