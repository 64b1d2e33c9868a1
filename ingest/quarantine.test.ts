import { describe, expect, it } from 'vitest';
import { NodeRegistry, PipelineMetrics, TOPICS, type OutgoingMessage, type Producer } from '../core/index.js';
import { defaultKinds } from '../core/kinds/modules.js';
import { lamp } from '../test/fixtures.js';
import { metricValue } from '../test/helpers.js';
import { Quarantine } from './quarantine.js';

/** A producer that keeps what it is sent, and refuses while `down`. */
function recorder() {
  const sent: { topic: string; messages: OutgoingMessage[] }[] = [];
  const producer = {
    down: false as boolean,
    async send(topic: string, messages: OutgoingMessage[]) {
      if (producer.down) throw new Error('log unavailable');
      sent.push({ topic, messages });
    },
  } satisfies Producer & { down: boolean };
  const ids = () => sent.flatMap((s) => s.messages.map((m) => m.key));
  return { producer, sent, ids };
}

const sighting = (nodeId: string, clientId = 'dev-a') => ({
  nodeId,
  kind: 'streetlight',
  district: 'Lixia',
  topic: `city/Lixia/streetlight/${nodeId}/telemetry`,
  clientId,
  firstSeen: 1_000,
});

describe('quarantine (registration on first sight, ingest side)', () => {
  const setup = (maxPending = 100, maxPerClient = 10) => {
    const log = recorder();
    const metrics = new PipelineMetrics({ defaultMetrics: false });
    const registry = new NodeRegistry([lamp(1)], [], defaultKinds());
    const quarantine = new Quarantine({ producer: log.producer, registry, metrics, maxPending, maxPerClient, payloadBytes: 8 });
    const hits = async (limit: string) => metricValue(await metrics.registry.metrics(), 'citybrain_limit_hits_total', { limit });
    return { ...log, metrics, registry, quarantine, hits };
  };

  it("reports a node's first message once, on registry.pending keyed by node id, its payload cut to the bound", async () => {
    const { quarantine, sent, ids } = setup();
    await quarantine.report([sighting('SL-NEW')], [Buffer.from('{"powerState":"on"}')]);
    expect(quarantine.report([sighting('SL-NEW')], [Buffer.from('{}')])).toBeUndefined();
    expect(ids()).toEqual(['SL-NEW']);
    expect(sent[0]!.topic).toBe(TOPICS.pending);
    expect(JSON.parse(sent[0]!.messages[0]!.value.toString())).toEqual({ ...sighting('SL-NEW'), payload: '{"powerS' });
  });

  it('bounds what one client can put on the list, and what all of them can', async () => {
    const { quarantine, ids, hits } = setup(5, 3);
    await quarantine.report(
      ['A1', 'A2', 'A3', 'A4'].map((id) => sighting(id, 'dev-a')),
      Array.from({ length: 4 }, () => Buffer.from('{}')),
    );
    expect(ids()).toEqual(['A1', 'A2', 'A3']);
    expect(await hits('MAX_BATCH_ENTRIES')).toBe(1);
    await quarantine.report(
      ['B1', 'B2', 'B3'].map((id) => sighting(id, 'dev-b')),
      Array.from({ length: 3 }, () => Buffer.from('{}')),
    );
    expect(ids()).toEqual(['A1', 'A2', 'A3', 'B1', 'B2']);
    expect(await hits('AUTO_REGISTER_MAX_PENDING')).toBe(1);
  });

  it('frees the room of nodes registered since they were reported', async () => {
    const { quarantine, registry, ids } = setup(2, 10);
    await quarantine.report([sighting('SL-7'), sighting('SL-8')], [Buffer.from('{}'), Buffer.from('{}')]);
    expect(quarantine.report([sighting('SL-9')], [Buffer.from('{}')])).toBeUndefined();
    registry.apply([
      { changeId: 'c1', at: 0, op: 'create', entity: 'node', id: 'SL-7', value: { ...lamp(7) }, by: { name: 'test', role: 'admin' } },
    ]);
    await quarantine.report([sighting('SL-9')], [Buffer.from('{}')]);
    expect(ids()).toEqual(['SL-7', 'SL-8', 'SL-9']);
  });

  it('reports again after a failed append (the device resends what was not acknowledged)', async () => {
    const { quarantine, producer, ids } = setup();
    producer.down = true;
    await expect(quarantine.report([sighting('SL-NEW')], [Buffer.from('{}')])).rejects.toThrow('log unavailable');
    producer.down = false;
    await quarantine.report([sighting('SL-NEW')], [Buffer.from('{}')]);
    expect(ids()).toEqual(['SL-NEW']);
  });
});
