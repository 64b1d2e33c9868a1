import { type KindCatalog, type Kind, type KindProfile, type NodeOf, type RegistryNode, type RejectReason } from '../core/index.js';
import { seededRandom } from '../core/random.js';
import { hashString } from './hash.js';
import { normalState, type ProfileTarget, type ScenarioState } from './models/context.js';

/** The simulator's own scenarios; `demo` is a mix of small doses of most of them. */
export const BUILTIN_SCENARIOS = [
  'normal',
  'circuit-dark',
  'spring-drought',
  'night-construction',
  'parking-rush',
  'gateway-outage',
  'bad-payloads',
  'demo',
] as const;
export type BuiltinScenario = (typeof BUILTIN_SCENARIOS)[number];

const BUILTIN_DESCRIPTIONS: Record<BuiltinScenario, string> = {
  normal:
    'a healthy city: lamps on from sunset to sunrise, ~0.5 % faulty lamps, wells above their yellow lines, noise under GB 3096 limits, parking by the hour',
  'circuit-dark': 'every lamp of a few circuits reports off (supply lost)',
  'spring-drought': 'every well below its yellow line, half of them below orange (Baotu about 27.9 m)',
  'night-construction': 'a residential noise station far over its night limit, LAmax peaks more than 15 dB over it',
  'parking-rush': 'rush-hour demand everywhere and about a quarter of the lots completely full',
  'gateway-outage': 'one gateway goes silent, buffers its readings, then replays them with their original timestamps',
  'bad-payloads':
    'malformed JSON, schema violations, unknown nodes, payloads naming another node, oversize payloads, unknown kinds and wrong districts alongside valid traffic',
  demo: 'normal plus one dark circuit, one well below a line, one well falling fast (pumping nearby), one full lot, one noisy station (day and night), one node of each profile kind in each of its scenarios, and a little bad data',
};

/**
 * Every scenario name with what it does: the simulator's own, then those the profiles of `kinds`
 * define (`simulate.scenarios`; a name several profiles share moves nodes of each, a built-in
 * name a profile reuses does both).
 */
export function scenarioDescriptions(kinds: KindCatalog): Map<string, string> {
  const out = new Map<string, string>(Object.entries(BUILTIN_DESCRIPTIONS));
  for (const profile of kinds.profiles()) {
    for (const [name, sc] of Object.entries(profile.simulate.scenarios)) {
      const what = `${profile.kind}: ${sc.description ?? 'profile scenario'} (${Math.round(sc.share * 1000) / 10} % of the nodes${sc.rampS > 0 ? `, reached over ${sc.rampS} s` : ''})`;
      const before = out.get(name);
      out.set(name, before ? `${before}; ${what}` : what);
    }
  }
  return out;
}

/** Knobs of the scenarios; defaults in DEFAULT_TUNING. */
export interface ScenarioTuning {
  /** circuit-dark: how many circuits go dark. */
  darkCircuits: number;
  /** bad-payloads: extra bad messages per valid reading. */
  badShare: number;
  /** demo: extra bad messages per valid reading. */
  demoBadShare: number;
  /** normal: share of lamps with a permanent fault. */
  faultyLampShare: number;
  /** normal: share of parking detectors with a low battery. */
  lowBatteryShare: number;
  /** parking-rush: share of lots that are completely full (at least one). */
  fullLotShare: number;
  /** gateway-outage: simulated seconds after the start the gateway goes silent, and for how long. */
  outageAfterS: number;
  outageDurationS: number;
  /** gateway-outage: which gateway (default: a lamp circuit gateway picked with the seed). */
  outageGatewayId?: string;
  /**
   * demo: cm a day the falling well drops. Above the steepest rise of the daily swing (about
   * 13 cm/day for a 2 cm swing) plus sensor noise, so its 24 h trend falls at any hour of the day.
   */
  fallingWellCmPerDay: number;
}

export const DEFAULT_TUNING: ScenarioTuning = {
  darkCircuits: 3,
  badShare: 0.05,
  demoBadShare: 0.01,
  faultyLampShare: 0.005,
  lowBatteryShare: 0.003,
  fullLotShare: 0.25,
  outageAfterS: 60,
  outageDurationS: 1200,
  fallingWellCmPerDay: 30,
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

/** Noise station ids a scenario may pick, residential (class 1) first. */
function pickNoisyStation(nodes: readonly NodeOf<'noise'>[]): NodeOf<'noise'> | undefined {
  for (const zone of ['1', '0', '2', '3', '4a', '4b'] as const) {
    const found = nodes.find((n) => n.zoneClass === zone);
    if (found) return found;
  }
  return undefined;
}

/** Between orange and red (Baotu: 27.9 m), or between yellow and orange. */
function droughtLevel(node: NodeOf<'groundwater'>, deep: boolean): number {
  const { yellow, orange, red } = node.lines;
  return deep ? Math.max(orange - 0.1, (orange + red) / 2) : (yellow + orange) / 2;
}

function ofKind<K extends Kind>(nodes: readonly RegistryNode[], kind: K): NodeOf<K>[] {
  return nodes.filter((n) => n.kind === kind) as NodeOf<K>[];
}

function uniq<T>(xs: Iterable<T>): T[] {
  return [...new Set(xs)];
}

function shuffled<T>(items: readonly T[], rand: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/**
 * The effects of a scenario on the given (simulated) nodes: which circuits are dark, where the
 * wells sit, which station is noisy, which lots are full, which gateway fails, how much bad data,
 * which profile-kind nodes are in their profile's scenarios. Deterministic for the same nodes,
 * seed and start. `kinds`: the catalog the nodes' kinds come from.
 */
export function buildScenario(
  name: string,
  nodes: readonly RegistryNode[],
  options: { seed: number; start: number; tuning?: Partial<ScenarioTuning>; kinds: KindCatalog },
): ScenarioState {
  const kinds = options.kinds;
  const parts = parseScenario(name, kinds);
  const tuning = { ...DEFAULT_TUNING, ...options.tuning };
  const state = normalState(options.start);
  state.name = parts.join('+');
  state.faultyLampShare = tuning.faultyLampShare;
  state.lowBatteryShare = tuning.lowBatteryShare;
  const rand = seededRandom(hashString(state.name, options.seed));
  const lamps = ofKind(nodes, 'streetlight');
  const wells = ofKind(nodes, 'groundwater');
  const stations = ofKind(nodes, 'noise');
  const spaces = ofKind(nodes, 'parking');
  const darkCircuits = new Set<string>();
  const wellTargets = new Map<string, number>();
  const fallingWells = new Map<string, number>();
  const noisy = new Map<string, 'night' | 'always'>();
  const fullLots = new Set<string>();
  const circuits = uniq(lamps.map((l) => l.circuit));
  const lots = uniq(spaces.map((s) => s.lotId));
  const profileTargets = new Map<string, ProfileTarget>();
  const profiles = kinds.profiles();
  // Its own stream, so a profile's scenario never changes what the built-in ones pick.
  const profileRand = seededRandom(hashString(`${state.name}/profiles`, options.seed));
  const nodesOf = (profile: KindProfile) => nodes.filter((n) => n.kind === profile.kind);
  /** A node stays in the first scenario that moves it. */
  const target = (nodeId: string, scenario: string, profile: KindProfile) => {
    const sc = profile.simulate.scenarios[scenario]!;
    if (!profileTargets.has(nodeId)) profileTargets.set(nodeId, { scenario, values: sc.values, rampS: sc.rampS });
  };

  for (const part of parts) {
    // A profile's scenario of this name: its share of the kind's nodes (at least one), drawn with the seed.
    for (const profile of profiles) {
      const sc = profile.simulate.scenarios[part];
      if (!sc) continue;
      const list = nodesOf(profile);
      for (const n of shuffled(list, profileRand).slice(0, Math.max(1, Math.round(list.length * sc.share))))
        target(n.nodeId, part, profile);
    }
    switch (part) {
      case 'normal':
        break;
      case 'circuit-dark':
        for (const c of shuffled(circuits, rand).slice(0, Math.max(1, tuning.darkCircuits))) darkCircuits.add(c);
        break;
      case 'spring-drought':
        wells.forEach((w, i) => wellTargets.set(w.nodeId, droughtLevel(w, i % 2 === 0)));
        break;
      case 'night-construction': {
        const s = pickNoisyStation(stations);
        if (s && !noisy.has(s.nodeId)) noisy.set(s.nodeId, 'night');
        break;
      }
      case 'parking-rush':
        state.rushDemand = true;
        for (const lot of shuffled(lots, rand).slice(0, Math.max(1, Math.round(lots.length * tuning.fullLotShare)))) fullLots.add(lot);
        break;
      case 'gateway-outage': {
        const gateways = uniq(nodes.filter((n) => n.gatewayId).map((n) => n.gatewayId!));
        const lampGateways = uniq(lamps.filter((n) => n.gatewayId).map((n) => n.gatewayId!));
        const gatewayId =
          tuning.outageGatewayId ?? (lampGateways.length > 0 ? shuffled(lampGateways, rand)[0] : shuffled(gateways, rand)[0]);
        if (gatewayId) {
          const from = options.start + tuning.outageAfterS * 1000;
          state.outage = { gatewayId, from, to: from + tuning.outageDurationS * 1000 };
        }
        break;
      }
      case 'bad-payloads':
        state.badShare = Math.max(state.badShare, tuning.badShare);
        break;
      case 'demo': {
        // One dark circuit on a main road (CircuitDark, and the main-road lighting rate under 99 %).
        const mainCircuits = uniq(lamps.filter((l) => l.roadClass === 'main' || l.roadClass === 'expressway').map((l) => l.circuit));
        const circuit = (mainCircuits.length > 0 ? mainCircuits : circuits)[0];
        if (circuit) darkCircuits.add(circuit);
        // Baotu Spring (or the first well) in the orange band.
        const well = wells.find((w) => w.well === 'Baotu Spring') ?? wells[0];
        if (well) wellTargets.set(well.nodeId, droughtLevel(well, true));
        // Another well falling fast (GroundwaterFallingFast, and a projected time to its next line).
        const pumped = wells.find((w) => w !== well);
        if (pumped) fallingWells.set(pumped.nodeId, tuning.fallingWellCmPerDay / 100);
        // One lot completely full.
        const lot = lots[0];
        if (lot) fullLots.add(lot);
        // A residential station with construction noise day and night.
        const s = pickNoisyStation(stations);
        if (s) noisy.set(s.nodeId, 'always');
        // One node of each profile kind in each of its profile's scenarios (a flooded point, a displaced cover).
        for (const profile of profiles) {
          const list = nodesOf(profile);
          Object.keys(profile.simulate.scenarios).forEach((scenario, i) => {
            const n = list[i];
            if (n) target(n.nodeId, scenario, profile);
          });
        }
        state.badShare = Math.max(state.badShare, tuning.demoBadShare);
        break;
      }
    }
  }
  state.darkCircuits = darkCircuits;
  state.wellTargets = wellTargets;
  state.fallingWells = fallingWells;
  state.noisyStations = noisy;
  state.fullLots = fullLots;
  state.profileTargets = profileTargets;
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
