import { describe, expect, it } from 'vitest';
import { lamp } from '../../test/fixtures.js';
import { heapUsedAfterGc as heapUsed } from '../../test/helpers.js';
import { defaultKinds } from '../kinds/modules.js';
import type { RegistryNode } from './node.js';
import { NodeRegistry } from './registry.js';

describe('NodeRegistry memory', () => {
  it('keeps one copy of an attribute value that many nodes name, and the nodes as they were', () => {
    const road = 'Quanfu Expressway '.repeat(100); // 1,800 characters, so each copy shows
    const nodes = 20_000;
    // Each node parsed from its own record, as from the registry topic: its own copy of every string.
    const records = Array.from({ length: nodes }, (_, i) => JSON.stringify({ ...lamp(i + 1), road, gatewayId: `GW-${road}` }));
    const before = heapUsed();
    const registry = new NodeRegistry(
      records.map((r) => JSON.parse(r) as RegistryNode),
      [],
      defaultKinds(),
    );
    const grown = heapUsed() - before;
    // Two strings of 1,800 characters for each of 20,000 nodes would be 72 MB; one copy of each is nothing.
    expect(grown).toBeLessThan(20 * 1024 * 1024);
    expect(registry.get('SL-1')).toEqual(JSON.parse(records[0]!));
    expect(registry.get(`SL-${nodes}`)).toEqual({ ...lamp(nodes), road, gatewayId: `GW-${road}` });
  });
});
