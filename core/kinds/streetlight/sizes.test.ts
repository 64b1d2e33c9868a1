import { describe, expect, it } from 'vitest';
import { NodeRegistry, type RegistryChange, type RegistryNode } from '../../index.js';
import { lamp } from '../../../test/fixtures.js';
import { defaultKinds } from '../modules.js';
import { lampIndex } from './sizes.js';

const change = (op: RegistryChange['op'], node: RegistryNode, n: number): RegistryChange => ({
  changeId: `c${n}`,
  at: 0,
  op,
  entity: 'node',
  id: node.nodeId,
  value: node,
  by: { name: 'test', role: 'admin' },
});

describe('lampIndex after registry changes', () => {
  it('recounts lamps but keeps every circuit and road at its position; new ones are appended', () => {
    const lamps = [lamp(1, { circuit: 'C1' }), lamp(2, { circuit: 'C2', road: 'R2' }), lamp(3, { circuit: 'C2', road: 'R2' })];
    const registry = new NodeRegistry(lamps, [], defaultKinds());
    const before = lampIndex(registry);
    expect(before.circuitIds).toEqual(['C1', 'C2']);
    registry.apply([change('decommission', lamps[0]!, 1), change('create', lamp(4, { circuit: 'C3', road: 'R3' }), 2)]);
    const after = lampIndex(registry);
    // Partials made before the change count C2 at position 1: it stays there.
    expect(after.circuitIds).toEqual(['C1', 'C2', 'C3']);
    expect(after.circuitAt.get('C2')).toBe(1);
    expect(after.circuits.get('C1')?.[0]).toBe(0);
    expect(after.circuits.get('C2')?.[0]).toBe(2);
    expect(after.circuits.get('C3')?.[0]).toBe(1);
    expect(after.lamps).toBe(3);
    expect(after.roadIds).toEqual(['Jingshi Road', 'R2', 'R3']);
  });
});
