import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { freshStateDir } from '../../test/helpers.js';
import { lamp } from '../../test/fixtures.js';
import { defaultKinds } from '../kinds/modules.js';
import { FileTransport } from '../stream/file/transport.js';
import { MemoryTransport, topicSpecs, type StreamTransport } from '../stream/index.js';
import type { RegistryChange } from './change.js';
import { RegistryFeed } from './feed.js';
import type { RegistryNode } from './node.js';
import { NodeRegistry, type RegistryDelta } from './registry.js';

const kinds = defaultKinds();
const by = { name: 'operator-token', role: 'operator' };
let n = 0;
const change = (
  op: RegistryChange['op'],
  value: RegistryNode | Record<string, unknown>,
  entity: RegistryChange['entity'] = 'node',
): RegistryChange => ({
  changeId: `c-${n++}`,
  at: 1_700_000_000_000,
  op,
  entity,
  id: String((value as Record<string, unknown>)[entity === 'node' ? 'nodeId' : entity === 'gateway' ? 'gatewayId' : 'road']),
  value: value,
  by,
});

/** One attribute of a node, whatever its kind. */
const attr = (node: RegistryNode | undefined, name: string) => (node as Record<string, unknown> | undefined)?.[name];

describe('NodeRegistry changes', () => {
  it('creates, updates and decommissions nodes, bumping the version and telling listeners once per application', () => {
    const registry = new NodeRegistry([lamp(1), lamp(2)], [], kinds);
    const deltas: RegistryDelta[] = [];
    registry.onChange((d) => deltas.push(d));
    const v0 = registry.version;
    registry.apply([change('create', lamp(3, { circuit: 'C2' })), change('update', lamp(1, { ratedW: 150 }))]);
    expect(registry.version).toBe(v0 + 1);
    expect(deltas).toEqual([{ nodes: ['SL-3', 'SL-1'], gateways: [], roads: [] }]);
    expect(registry.ofKind('streetlight').map((l) => [l.nodeId, l.ratedW])).toEqual([
      ['SL-1', 150],
      ['SL-2', 200],
      ['SL-3', 200],
    ]);
    registry.apply([change('decommission', lamp(2))]);
    expect(registry.get('SL-2')).toBeUndefined();
    expect(registry.decommissioned('SL-2')?.nodeId).toBe('SL-2');
    expect(registry.ofKind('streetlight').map((l) => l.nodeId)).toEqual(['SL-1', 'SL-3']);
    expect(registry.size).toBe(2);
    // Created again: in service, no longer decommissioned.
    registry.apply([change('create', lamp(2))]);
    expect(registry.decommissioned('SL-2')).toBeUndefined();
    expect(registry.has('SL-2')).toBe(true);
  });

  it('moves a node to its new kind list when its kind changes', () => {
    const registry = new NodeRegistry([lamp(1)], [], kinds);
    registry.apply([
      change('update', { nodeId: 'SL-1', kind: 'noise', district: 'Lixia', lat: 36.6, lon: 117, station: 'S', zoneClass: '1' }),
    ]);
    expect(registry.ofKind('streetlight')).toEqual([]);
    expect(registry.ofKind('noise').map((s) => s.nodeId)).toEqual(['SL-1']);
  });

  it('applies nothing of a batch with a record invalid for its kind', () => {
    const registry = new NodeRegistry([lamp(1)], [], kinds);
    const v0 = registry.version;
    expect(() => registry.apply([change('create', lamp(5)), change('create', { ...lamp(6), roadClass: 'motorway' })])).toThrow(/SL-6/);
    expect(registry.has('SL-5')).toBe(false);
    expect(registry.version).toBe(v0);
  });

  it('keeps gateways and their decommissioning apart from nodes', () => {
    const registry = new NodeRegistry([], [], kinds);
    registry.apply([change('create', { gatewayId: 'GW-1', district: 'Lixia' }, 'gateway')]);
    expect(registry.gateway('GW-1')).toEqual({ gatewayId: 'GW-1', district: 'Lixia' });
    registry.apply([change('decommission', { gatewayId: 'GW-1', district: 'Lixia' }, 'gateway')]);
    expect(registry.gateway('GW-1')).toBeUndefined();
    expect(registry.decommissionedGateway('GW-1')).toBeDefined();
  });
});

describe('RegistryFeed on the in-process log', () => {
  const feeds: RegistryFeed[] = [];
  afterEach(async () => {
    for (const f of feeds.splice(0)) await f.stop();
  });

  /** `seed` null: the seed must not be loaded (a restart rebuilds from what was kept). */
  async function feedOn(stateDir: string, seed: RegistryNode[] | null, transport?: StreamTransport) {
    const tx = transport ?? new MemoryTransport();
    if (!transport) await tx.ensureTopics(topicSpecs(kinds));
    const registry = new NodeRegistry([], [], kinds);
    const feed = new RegistryFeed({
      registry,
      transport: tx,
      producer: await tx.producer(),
      logger: pino({ level: 'silent' }),
      seed: () => {
        if (!seed) throw new Error('the seed was loaded although the registry was kept');
        return new NodeRegistry(seed, [], kinds);
      },
      stateDir,
    });
    feeds.push(feed);
    await feed.start();
    return { registry, feed, transport: tx };
  }

  it('seeds on first start, keeps changes in STATE_DIR, and a restart rebuilds from them instead of the seed', async () => {
    const dir = freshStateDir();
    const first = await feedOn(dir, [lamp(1, { gatewayId: 'GW-A' }), lamp(2)]);
    expect([...first.registry.all()].map((x) => x.nodeId)).toEqual(['SL-1', 'SL-2']);
    // A gateway named by a node gets a record of its own.
    expect(first.registry.gateway('GW-A')).toEqual({ gatewayId: 'GW-A', district: 'Lixia' });
    // publish resolves once the change is applied here.
    await first.feed.publish([change('create', lamp(3)), change('decommission', lamp(2))]);
    expect(first.registry.has('SL-3')).toBe(true);
    expect(first.registry.decommissioned('SL-2')).toBeDefined();
    await first.feed.stop();
    feeds.splice(0);

    // A new process (new log): the journal wins, and the seed is not even loaded.
    const second = await feedOn(dir, null);
    expect([...second.registry.all()].map((x) => x.nodeId).sort()).toEqual(['SL-1', 'SL-3']);
    expect(second.registry.decommissioned('SL-2')?.nodeId).toBe('SL-2');

    // Compacted at start: one line per entity (SL-1, SL-2, SL-3, GW-A).
    const lines = (await readFile(join(dir, 'registry.jsonl'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(4);
  });

  it('on the durable file log: seeds the topic on first start; a restart rebuilds from the topic without loading the seed', async () => {
    const dir = freshStateDir();
    const open = async () => {
      const tx = new FileTransport({ dir: join(dir, 'log') });
      await tx.ensureTopics(topicSpecs(kinds));
      return tx;
    };
    const firstLog = await open();
    const first = await feedOn(dir, [lamp(1), lamp(2)], firstLog);
    await first.feed.publish([change('decommission', lamp(2))]);
    await first.feed.stop();
    feeds.splice(0);
    await firstLog.close();

    const secondLog = await open();
    const second = await feedOn(dir, null, secondLog);
    expect([...second.registry.all()].map((x) => x.nodeId)).toEqual(['SL-1']);
    expect(second.registry.decommissioned('SL-2')?.nodeId).toBe('SL-2');
    await second.feed.stop();
    feeds.splice(0);
    await secondLog.close();
  });

  it('applies a change published by another stage of the same log', async () => {
    const dir = freshStateDir();
    const a = await feedOn(dir, [lamp(1)]);
    const b = await feedOn(dir, [lamp(1)], a.transport);
    await a.feed.publish([change('update', lamp(1, { circuit: 'C9' }))]);
    await expect.poll(() => attr(b.registry.get('SL-1'), 'circuit')).toBe('C9');
  });

  it('refuses a change that does not apply before keeping it: the registry and its journal stay as they were', async () => {
    const dir = freshStateDir();
    const { registry, feed } = await feedOn(dir, [lamp(1)]);
    await expect(feed.publish([change('update', { ...lamp(1), ratedW: 'bright' })])).rejects.toThrow(/SL-1/);
    expect(attr(registry.get('SL-1'), 'ratedW')).toBe(200);
    await feed.stop();
    feeds.splice(0);
    expect(attr((await feedOn(dir, [])).registry.get('SL-1'), 'ratedW')).toBe(200);
  });
});
