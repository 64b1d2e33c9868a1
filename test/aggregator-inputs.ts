import { NodeRegistry, type AlertCondition, type RegistryNode } from '../core/index.js';
import { defaultKinds } from '../core/kinds/modules.js';
import type { PartitionPartial } from '../processors/partial.js';
import { at } from './fixtures.js';

/** The aggregator tests' city: one parking lot of 10 spaces, the partials of its raw partitions, and a node condition. */
export const NOW = at('2026-06-21T22:00:00');
const spaces: RegistryNode[] = Array.from({ length: 10 }, (_, i) => ({
  nodeId: `P-${i}`,
  kind: 'parking',
  district: 'Lixia',
  lat: 36.6,
  lon: 117,
  lotId: 'L1',
  lotName: 'Lot 1',
  spaces: 10,
}));
export const registry = new NodeRegistry(spaces, [], defaultKinds());
export const battery: AlertCondition = {
  alertname: 'NodeBatteryLow',
  severity: 'minor',
  labels: { kind: 'parking', district: 'Lixia', node: 'P-3' },
  summary: 'P-3 battery low',
  value: 2.8,
};

/** A partial of one raw partition: `occupied` / `free` spaces of lot L1 it has seen. */
export function partial(source: string, at: number, occupied: number, free: number, conditions: AlertCondition[] = []): PartitionPartial {
  return { source, at, since: NOW - 3_600_000, kinds: { parking: { lots: { L1: [occupied, free, 0, 0] } } }, conditions };
}
