import { isBuiltinNode, seededRandom, type BuiltinNode, type KindProfile, type NodeRegistry, type ProfileNode } from '../core/index.js';
import { normalState, profileModel } from '../simulators/models/index.js';

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
    const r = rand();
    const fields = isBuiltinNode(node) ? values(node, r) : profileValues(node, registry.kinds.get(node.kind)!.profile!, ts, r);
    out.push({
      topic: `city/${node.district}/${node.kind}/${node.nodeId}/telemetry`,
      payload: JSON.stringify({ ts, seq: Math.floor(i / nodes.length), ...fields }),
    });
  }
  return out;
}

function values(node: BuiltinNode, r: number): Record<string, unknown> {
  switch (node.kind) {
    case 'streetlight':
      return r < 0.04
        ? { powerState: 'off' }
        : { powerState: 'on', dim: 100, powerW: node.ratedW * (r < 0.06 ? 0.5 : 0.96), voltageV: 220 };
    case 'groundwater':
      return { waterTableM: Math.round((node.lines.yellow - 0.3 + r * 0.8) * 1000) / 1000 };
    case 'noise':
      return { laeq: Math.round((42 + r * 30) * 10) / 10, lamax: Math.round((55 + r * 30) * 10) / 10, periodS: 60 };
    case 'parking':
      return { status: r < 0.6 ? 'occupied' : 'free', batteryV: 3.3 };
  }
}

/** A profile node's simulated fields: its normal values, or (1 reading in 20) its profile's first scenario's values. */
function profileValues(node: ProfileNode, profile: KindProfile, ts: number, r: number): Record<string, unknown> {
  const scenario = normalState(ts);
  const [name, sc] = Object.entries(profile.simulate.scenarios)[0] ?? [];
  if (name && sc && r < 0.05) scenario.profileTargets = new Map([[node.nodeId, { scenario: name, values: sc.values, rampS: 0 }]]);
  const { ts: _ts, ...fields } = profileModel(node, profile, ts, { seed: 7, scenario });
  return fields;
}

/** KPIs without the fields that name the moment of evaluation. */
export function comparableKpis(kpis: unknown): unknown {
  return JSON.parse(
    JSON.stringify(kpis, (key, value) => (['evaluatedAt', 'rateAt', 'switchOn', 'switchOff', 'at'].includes(key) ? undefined : value)),
  );
}
