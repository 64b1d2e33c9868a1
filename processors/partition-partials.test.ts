import { describe, expect, it } from 'vitest';
import { NodeRegistry } from '../core/index.js';
import { at, lamp, config, STATION } from '../test/fixtures.js';
import { EventClock } from './clock.js';
import { FakeKind } from './fake-kind.js';
import { NodeHealth } from './health/processor.js';
import { PartitionIndex } from './partition-index.js';
import { buildPartials, parseSource, type PartialSources } from './partition-partials.js';
import { defaultKinds } from '../core/kinds/modules.js';

const station = STATION;
const nodes = [lamp(1), station, lamp(2, { district: 'Shizhong' })];
const registry = new NodeRegistry(nodes, [], defaultKinds());
const NOW = at('2026-06-21T10:00:00');

function setup() {
  const lighting = new FakeKind('streetlight');
  const noise = new FakeKind('noise');
  const clock = new EventClock(() => NOW);
  const sources: PartialSources = {
    kinds: new Map([
      ['streetlight', lighting],
      ['noise', noise],
    ]),
    health: new NodeHealth(),
    clock,
    index: new PartitionIndex(nodes, 1),
  };
  const ctx = { now: clock.now(), since: clock.since, config: config(), registry };
  return { lighting, sources, ctx };
}

describe('partition partials', () => {
  it('say eventTime=false before any reading, and true once the clock has seen one', () => {
    const { sources, ctx } = setup();
    expect(buildPartials(['telemetry.raw:0', 'telemetry.dlq:0'], sources, ctx, NOW).map((p) => p.eventTime)).toEqual([false, false]);
    sources.clock.observe(at('2026-06-21T09:00:00'));
    expect(buildPartials(['telemetry.raw:0'], sources, ctx, NOW)[0]!.eventTime).toBe(true);
  });

  it("carry each kind's section of the partition's nodes, its health, and the conditions of both", () => {
    const { lighting, sources, ctx } = setup();
    lighting.state.set('SL-2', { ts: NOW });
    const [partial] = buildPartials(['telemetry.raw:0'], sources, ctx, NOW);
    expect(partial).toEqual({
      source: 'telemetry.raw:0',
      at: NOW,
      eventTime: false,
      since: NOW,
      kinds: { streetlight: { nodes: ['SL-1', 'SL-2'] }, noise: { nodes: ['NS-1'] } },
      health: {
        tallies: {
          'Lixia|streetlight': { district: 'Lixia', kind: 'streetlight', total: 1, online: 0, neverSeen: 1, batteryLow: 0 },
          'Lixia|noise': { district: 'Lixia', kind: 'noise', total: 1, online: 0, neverSeen: 1, batteryLow: 0 },
          'Shizhong|streetlight': { district: 'Shizhong', kind: 'streetlight', total: 1, online: 0, neverSeen: 1, batteryLow: 0 },
        },
        silent: {},
      },
      conditions: [{ alertname: 'Fake', severity: 'info', labels: { kind: 'streetlight', node: 'SL-2' }, summary: 'SL-2' }],
    });
  });

  it("give a partition without nodes empty sections, and a dead-letter partition its last five minutes' rejections", () => {
    const { sources, ctx } = setup();
    sources.health.noteRejected(2, 'schema', NOW - 60_000);
    sources.health.noteRejected(2, 'schema', NOW - 30_000);
    sources.health.noteRejected(2, 'late', NOW - 10 * 60_000);
    const [dlq, raw] = buildPartials(['telemetry.raw:5', 'telemetry.dlq:2'], sources, ctx, NOW);
    expect(dlq).toEqual({
      source: 'telemetry.dlq:2',
      at: NOW,
      eventTime: false,
      since: NOW,
      rejections: { rejected: { schema: 2 } },
      conditions: [],
    });
    expect(raw!.kinds).toEqual({ streetlight: { nodes: [] }, noise: { nodes: [] } });
    expect(raw!.health).toEqual({ tallies: {}, silent: {} });
  });

  it('split a source at its last colon', () => {
    expect(parseSource('telemetry.raw:11')).toEqual({ topic: 'telemetry.raw', partition: 11 });
    expect(parseSource('a:b:3')).toEqual({ topic: 'a:b', partition: 3 });
  });
});
