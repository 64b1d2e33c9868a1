import type { KindCatalog, RegistryNode, RejectReason } from '../core/index.js';
import { seededRandom } from '../core/random.js';
import { hashString } from './hash.js';
import { normalState, type ScenarioState } from './models/context.js';
import { shuffled, uniq } from './picks.js';

/** The scenarios of the simulator itself (the kinds add theirs, and their part of these). */
const PIPELINE_SCENARIOS: Readonly<Record<string, string>> = {
  normal: 'a healthy city',
  'gateway-outage': 'one gateway goes silent, buffers its readings, then replays them with their original timestamps',
  'bad-payloads':
    'malformed JSON, schema violations, unknown nodes, payloads naming another node, oversize payloads, unknown kinds and wrong districts alongside valid traffic',
  demo: 'normal plus a little of most scenarios, and a little bad data',
};

/**
 * Every scenario name with what it does: the simulator's own, and each kind's part (its module's
 * `scenarios`, e.g. `circuit-dark` of streetlight, `rainstorm` of the waterlogging profile), as
 * `kind: what`; a name several kinds share moves nodes of each.
 */
export function scenarioDescriptions(kinds: KindCatalog): Map<string, string> {
  const out = new Map<string, string>(Object.entries(PIPELINE_SCENARIOS));
  for (const module of kinds.modules()) {
    for (const [name, what] of Object.entries(module.scenarios?.descriptions ?? {})) {
      const before = out.get(name);
      out.set(name, before ? `${before}; ${module.name}: ${what}` : `${module.name}: ${what}`);
    }
  }
  return out;
}

/** Knobs of the simulator's own scenarios; each kind's come with its module (`scenarios.tuning`), overridden by name. */
export interface ScenarioTuning {
  /** bad-payloads: extra bad messages per valid reading. */
  badShare: number;
  /** demo: extra bad messages per valid reading. */
  demoBadShare: number;
  /** gateway-outage: simulated seconds after the start the gateway goes silent, and for how long. */
  outageAfterS: number;
  outageDurationS: number;
  /** gateway-outage: which gateway (default: one of the most common kind's gateways, picked with the seed). */
  outageGatewayId?: string;
}

export const DEFAULT_TUNING: ScenarioTuning = {
  badShare: 0.05,
  demoBadShare: 0.01,
  outageAfterS: 60,
  outageDurationS: 1200,
};

/** Parses `name` or `a+b` into scenario names known with `kinds`; throws with the list of known names. */
export function parseScenario(name: string, kinds: KindCatalog): string[] {
  const known = [...scenarioDescriptions(kinds).keys()];
  const parts = name
    .split(/[+,]/)
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length === 0) throw new Error('name at least one scenario');
  const unknown = parts.filter((p) => !known.includes(p));
  if (unknown.length > 0)
    throw new Error(unknown.map((p) => `unknown scenario ${JSON.stringify(p)}; known: ${known.join(', ')}`).join('; '));
  return parts;
}

/** The gateways of the kind most nodes behind a gateway have (the lamps' in a city), the outage's candidates. */
function busiestKindGateways(nodes: readonly RegistryNode[]): string[] {
  const byKind = new Map<string, string[]>();
  for (const n of nodes) if (n.gatewayId) (byKind.get(n.kind) ?? byKind.set(n.kind, []).get(n.kind)!).push(n.gatewayId);
  const [busiest] = [...byKind.values()].sort((a, b) => b.length - a.length);
  return uniq(busiest ?? []);
}

/**
 * The effects of a scenario on the given (simulated) nodes: each kind's (its module's
 * `scenarios.build` over its nodes, with its own random stream and knobs), which gateway fails, how
 * much bad data. Deterministic for the same nodes, seed and start. `kinds`: the catalog the nodes'
 * kinds come from.
 */
export function buildScenario(
  name: string,
  nodes: readonly RegistryNode[],
  options: {
    seed: number;
    start: number;
    tuning?: Partial<ScenarioTuning> & Record<string, number | string | undefined>;
    kinds: KindCatalog;
  },
): ScenarioState {
  const { kinds } = options;
  const parts = parseScenario(name, kinds);
  const overrides = options.tuning ?? {};
  const tuning = { ...DEFAULT_TUNING, ...overrides };
  const state = normalState(options.start);
  state.name = parts.join('+');
  const effects = new Map<string, unknown>();
  for (const module of kinds.modules()) {
    const scenarios = module.scenarios;
    if (!scenarios) continue;
    const knobs = Object.fromEntries(
      Object.entries(scenarios.tuning).map(([knob, value]) => [knob, typeof overrides[knob] === 'number' ? overrides[knob] : value]),
    );
    const own = nodes.filter((n) => n.kind === module.name);
    // Its own stream, so one kind's picks never change another's.
    const rand = seededRandom(hashString(`${state.name}/${module.name}`, options.seed));
    effects.set(module.name, scenarios.build(parts, own, rand, knobs));
  }
  state.effects = effects;
  const rand = seededRandom(hashString(state.name, options.seed));
  for (const part of parts) {
    if (part === 'gateway-outage') {
      const gatewayId = tuning.outageGatewayId ?? shuffled(busiestKindGateways(nodes), rand)[0];
      if (gatewayId) {
        const from = options.start + tuning.outageAfterS * 1000;
        state.outage = { gatewayId, from, to: from + tuning.outageDurationS * 1000 };
      }
    } else if (part === 'bad-payloads') state.badShare = Math.max(state.badShare, tuning.badShare);
    else if (part === 'demo') state.badShare = Math.max(state.badShare, tuning.demoBadShare);
  }
  return state;
}

/** Kinds of bad messages the bad-payloads scenario sends, in rotation. */
export const BAD_PAYLOAD_KINDS = [
  'malformed-json',
  'schema-violation',
  'unknown-node',
  'node-mismatch',
  'oversize',
  'unknown-kind',
  'wrong-district',
] as const;
export type BadPayloadKind = (typeof BAD_PAYLOAD_KINDS)[number];

/** What ingest should answer to each (the dead-letter reason). */
export const BAD_PAYLOAD_REASON: Record<BadPayloadKind, RejectReason> = {
  'malformed-json': 'bad-json',
  'schema-violation': 'bad-schema',
  'unknown-node': 'unknown-node',
  'node-mismatch': 'node-mismatch',
  oversize: 'too-large',
  'unknown-kind': 'unknown-kind',
  'wrong-district': 'topic-mismatch',
};

/** Size of an oversize payload: over the default MAX_PAYLOAD_BYTES (16 KiB). */
export const OVERSIZE_BYTES = 24 * 1024;

export function telemetryTopic(district: string, kind: string, nodeId: string): string {
  return `city/${district}/${kind}/${nodeId}/telemetry`;
}

export function batchTopic(gatewayId: string): string {
  return `city/gateways/${gatewayId}/batch`;
}

/** A reading's fields with one schema violation: no timestamp, or one of its kind's own (its module's `violate`). */
function violate(node: RegistryNode, reading: Record<string, unknown>, variant: number, kinds: KindCatalog): Record<string, unknown> {
  if (variant % 3 === 2) {
    const { ts: _ts, ...rest } = reading;
    return rest; // no timestamp
  }
  const module = kinds.get(node.kind);
  return module ? module.violate(reading, variant % 3 === 0 ? 0 : 1) : { ...reading, ts: 'yesterday' };
}

/**
 * One bad message built around a real node's reading: `node` is the sender, `other` another node of
 * the registry (for a payload naming someone else), `n` a running number.
 */
export function makeBadPayload(
  kind: BadPayloadKind,
  node: RegistryNode,
  reading: Record<string, unknown>,
  other: RegistryNode,
  n: number,
  kinds: KindCatalog,
): { topic: string; payload: string } {
  const topic = telemetryTopic(node.district, node.kind, node.nodeId);
  switch (kind) {
    case 'malformed-json': {
      const text = JSON.stringify(reading);
      return { topic, payload: n % 2 === 0 ? text.slice(0, Math.max(1, text.length - 7)) : `{ts:${Number(reading.ts)}, 'value': NaN,}` };
    }
    case 'schema-violation':
      return { topic, payload: JSON.stringify(violate(node, reading, n, kinds)) };
    case 'unknown-node':
      return { topic: telemetryTopic(node.district, node.kind, `SIM-UNKNOWN-${node.kind}-${n}`), payload: JSON.stringify(reading) };
    case 'node-mismatch':
      return { topic, payload: JSON.stringify({ nodeId: other.nodeId === node.nodeId ? `${node.nodeId}-X` : other.nodeId, ...reading }) };
    case 'oversize':
      return { topic, payload: JSON.stringify({ ...reading, debug: 'x'.repeat(OVERSIZE_BYTES) }) };
    case 'unknown-kind':
      return { topic: telemetryTopic(node.district, 'toaster', node.nodeId), payload: JSON.stringify(reading) };
    case 'wrong-district': {
      const district = other.district !== node.district ? other.district : node.district === 'Nowhere' ? 'Elsewhere' : 'Nowhere';
      return { topic: telemetryTopic(district, node.kind, node.nodeId), payload: JSON.stringify(reading) };
    }
  }
}
