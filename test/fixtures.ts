import type {
  AnyReadingRecord,
  Kind,
  ProfileNode,
  ProfileReading,
  ProfileReadingRecord,
  ReadingOf,
  ReadingRecord,
  RegistryNode,
} from '../core/index.js';
import { loadConfig, NodeRegistry, type Config } from '../core/index.js';
import { defaultKinds } from '../core/kinds/modules.js';

export const at = (local: string) => Date.parse(`${local}+08:00`);

/** A noise station in Lixia (zone class 1), the host tests' node of a low-rate kind. */
export const STATION: RegistryNode = {
  nodeId: 'NS-1',
  kind: 'noise',
  district: 'Lixia',
  lat: 36.6,
  lon: 117,
  station: 'Daming Lake',
  zoneClass: '1',
};

export function lamp(i: number, attrs: Partial<Extract<RegistryNode, { kind: 'streetlight' }>> = {}): RegistryNode {
  return {
    nodeId: `SL-${i}`,
    kind: 'streetlight',
    district: 'Lixia',
    lat: 36.66,
    lon: 117.07,
    road: 'Jingshi Road',
    roadClass: 'main',
    circuit: 'C1',
    ratedW: 200,
    ...attrs,
  };
}

export function record<K extends Kind>(node: RegistryNode & { kind: K }, reading: ReadingOf<K>): ReadingRecord<K>;
export function record(node: ProfileNode, reading: ProfileReading): ProfileReadingRecord;
export function record(node: RegistryNode, reading: { ts: number }): AnyReadingRecord {
  return {
    type: 'reading',
    nodeId: node.nodeId,
    kind: node.kind,
    district: node.district,
    receivedAt: reading.ts,
    reading,
  };
}

export function config(overrides: Record<string, string> = {}): Config {
  return loadConfig({ LOG_LEVEL: 'silent', ...overrides });
}

export function ctx(nodes: RegistryNode[], now: number, overrides: Record<string, string> = {}, since = now - 86_400_000) {
  return { now, since, config: config(overrides), registry: new NodeRegistry(nodes, [], defaultKinds()) };
}
