import { describe, expect, it } from 'vitest';
import { NodeRegistry, type RegistryNode } from '../core/index.js';
import { at, config, lamp, STATION } from '../test/fixtures.js';
import { FakeKind } from './fake-kind.js';
import { NodeHealth } from './health/processor.js';
import { nodeView, nodeViews, type ViewSources } from './node-views.js';
import { defaultKinds } from '../core/kinds/modules.js';

const station = STATION;
// Registry order: SL-1 Lixia, NS-1 Lixia, SL-2 Shizhong, SL-3 Lixia, SL-4 Lixia.
const nodes = [lamp(1), station, lamp(2, { district: 'Shizhong' }), lamp(3), lamp(4)];
const registry = new NodeRegistry(nodes, [], defaultKinds());
const NOW = at('2026-06-21T10:00:00');
// Lamps report every 300 s; with ONLINE_GRACE_FACTOR 3 a lamp is online for 15 minutes after its last reading.
const ctx = { now: NOW, since: NOW - 86_400_000, config: config(), registry };

function setup(): ViewSources & { lighting: FakeKind } {
  const lighting = new FakeKind('streetlight');
  const health = new NodeHealth();
  const seen = (node: RegistryNode, local: string) =>
    health.apply(
      {
        type: 'reading',
        nodeId: node.nodeId,
        kind: node.kind,
        district: node.district,
        receivedAt: at(local),
        reading: { ts: at(local) },
      },
      NOW,
    );
  seen(nodes[0]!, '2026-06-21T09:55:00'); // SL-1 online
  seen(nodes[2]!, '2026-06-21T09:58:00'); // SL-2 online
  seen(nodes[3]!, '2026-06-21T09:00:00'); // SL-3 silent for an hour: offline
  lighting.state.set('SL-1', { ts: at('2026-06-21T09:55:00') });
  return {
    lighting,
    kinds: new Map([
      ['streetlight', lighting],
      ['noise', new FakeKind('noise')],
    ]),
    health,
  };
}

const ids = (r: { items: { node: RegistryNode }[] }) => r.items.map((v) => v.node.nodeId);

describe('node views', () => {
  it('page the registry in order, counting every match', () => {
    const sources = setup();
    expect(nodeViews(sources, { limit: 2, offset: 0 }, ctx)).toMatchObject({ total: 5 });
    expect(ids(nodeViews(sources, { limit: 2, offset: 0 }, ctx))).toEqual(['SL-1', 'NS-1']);
    expect(ids(nodeViews(sources, { limit: 2, offset: 3 }, ctx))).toEqual(['SL-3', 'SL-4']);
    expect(nodeViews(sources, { limit: 2, offset: 9 }, ctx)).toEqual({ total: 5, items: [] });
  });

  it('filter by kind, district and status', () => {
    const sources = setup();
    const page = { limit: 10, offset: 0 };
    expect(ids(nodeViews(sources, { ...page, kind: 'noise' }, ctx))).toEqual(['NS-1']);
    expect(ids(nodeViews(sources, { ...page, district: 'Shizhong' }, ctx))).toEqual(['SL-2']);
    expect(ids(nodeViews(sources, { ...page, status: 'online' }, ctx))).toEqual(['SL-1', 'SL-2']);
    // Offline: the silent lamp and the nodes never heard from.
    expect(ids(nodeViews(sources, { ...page, status: 'offline' }, ctx))).toEqual(['NS-1', 'SL-3', 'SL-4']);
    expect(nodeViews(sources, { ...page, kind: 'streetlight', district: 'Lixia', status: 'offline', limit: 1 }, ctx)).toMatchObject({
      total: 2,
      items: [{ node: { nodeId: 'SL-3' } }],
    });
  });

  it("list health only; one node's view adds what its kind processor describes", () => {
    const sources = setup();
    const [listed] = nodeViews(sources, { limit: 1, offset: 0 }, ctx).items;
    const health = { online: true, lastSeen: at('2026-06-21T09:55:00'), lastReceivedAt: at('2026-06-21T09:55:00'), status: 'online' };
    expect(listed).toEqual({ node: nodes[0], health });
    expect(nodeView(sources, nodes[0]!, ctx, true)).toEqual({ node: nodes[0], health, latest: { ts: at('2026-06-21T09:55:00') } });
  });
});
