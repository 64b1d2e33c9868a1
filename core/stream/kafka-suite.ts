import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { defaultKinds } from '../kinds/modules.js';
import { MemoryTransport } from './memory.js';
import { partitionFor } from './partitioner.js';
import { TOPICS, topicSpecs } from './topics.js';
import type { StreamRecord, StreamTransport } from './types.js';

/**
 * What the Kafka transports must show beyond the stream contract (core/stream/contract.ts), run on
 * each Kafka client against a real broker. `fresh` returns a transport, a unique prefix and a
 * kafkajs admin client that looks at the broker from outside (offsets, configs, deleting records).
 */
export interface KafkaSuiteOptions {
  /** The client library's own default partitioner for a key (the transport must not depend on it). */
  libraryPartition(key: string, partitions: number): number;
  /** Whether that default places every key as partitionFor does (kafkajs: yes; @platformatic/kafka: no). */
  libraryAgrees: boolean;
  /**
   * Whether a partition is handed over on a rebalance only after the batch in flight is committed,
   * always. @platformatic/kafka: not when its commit meets the rebalance on the wire (its commit is
   * retried after the join, too late); the next owner then handles that batch again (at least once).
   */
  commitsBeforeHandover: boolean;
}

export function kafkaTransportSuite(
  name: string,
  fresh: () => Promise<{ transport: StreamTransport; prefix: string; admin: Admin }>,
  suite: KafkaSuiteOptions,
) {
  const waitFor = async (check: () => boolean | Promise<boolean>, timeoutMs = 25_000) => {
    const until = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > until) throw new Error('timed out waiting for condition');
      await sleep(25);
    }
  };

  describe(`kafka transport: ${name}`, () => {
    it('places a key on the same partition as the in-process log (partitionFor)', async () => {
      const { transport, prefix } = await fresh();
      const memory = new MemoryTransport();
      const topic = `${prefix}.placement`;
      const partitions = 6;
      await transport.ensureTopics([{ name: topic, partitions }]);
      await memory.ensureTopics([{ name: topic, partitions }]);
      const messages = Array.from({ length: 60 }, (_, i) => ({ key: `node-${i}`, value: Buffer.from(String(i)) }));
      await (await transport.producer()).send(topic, messages);
      await (await memory.producer()).send(topic, messages);
      const read = async (t: StreamTransport) => {
        const seen: StreamRecord[] = [];
        const c = await t.consume({ groupId: `${prefix}-placement`, topics: [topic], onBatch: async (b) => void seen.push(...b.records) });
        await waitFor(() => seen.length >= messages.length);
        await c.stop();
        return new Map(seen.map((r) => [r.key, r.partition]));
      };
      const onKafka = await read(transport);
      const inMemory = await read(memory);
      let libraryDiffers = 0;
      for (const { key } of messages) {
        expect(onKafka.get(key)).toBe(partitionFor(key, partitions));
        expect(inMemory.get(key)).toBe(onKafka.get(key));
        if (suite.libraryPartition(key, partitions) !== onKafka.get(key)) libraryDiffers++;
      }
      // kafkajs's default is the Java client's murmur2; @platformatic/kafka's (`murmur2 >>> 0`) places some keys elsewhere.
      if (suite.libraryAgrees) expect(libraryDiffers).toBe(0);
      else expect(libraryDiffers).toBeGreaterThan(0);
      expect(new Set(onKafka.values()).size).toBeGreaterThan(1);
      await transport.close();
      await memory.close();
    });

    it('resolves send only once the broker holds the messages', async () => {
      const { transport, prefix, admin } = await fresh();
      const topic = `${prefix}.acked`;
      await transport.ensureTopics([{ name: topic, partitions: 3 }]);
      const producer = await transport.producer();
      const messages = Array.from({ length: 30 }, (_, i) => ({
        key: `k${i % 5}`,
        value: Buffer.from(`v${i}`),
        headers: { seq: String(i) },
      }));
      await producer.send(topic, messages);
      // No waiting: the high watermarks already count every message (acks=all, committed).
      const offsets = await admin.fetchTopicOffsets(topic);
      expect(offsets.reduce((sum, o) => sum + Number(o.high), 0)).toBe(30);

      const seen: StreamRecord[] = [];
      const c = await transport.consume({
        groupId: `${prefix}-acked`,
        topics: [topic],
        onBatch: async (b) => void seen.push(...b.records),
      });
      await waitFor(() => seen.length >= 30);
      await c.stop();
      const byValue = new Map(seen.map((r) => [r.value.toString(), r]));
      for (let i = 0; i < 30; i++) {
        const r = byValue.get(`v${i}`)!;
        expect(r.key).toBe(`k${i % 5}`);
        expect(r.headers).toEqual({ seq: String(i) });
        expect(r.topic).toBe(topic);
      }
      await transport.close();
    });

    it('sends more than the broker takes in one record batch, and records over 1 MiB where the topic allows them', async () => {
      const { transport, prefix } = await fresh();
      const [many, large] = [`${prefix}.many`, `${prefix}.large`];
      // As the pipeline's city-wide topics are made (topicSpecs): one partition, large records allowed.
      const largeSpec = topicSpecs(defaultKinds()).find((t) => t.name === TOPICS.partials)!;
      await transport.ensureTopics([
        { name: many, partitions: 1 },
        { ...largeSpec, name: large },
      ]);
      const producer = await transport.producer();
      // 3 MB in 300 records of one send: one partition, so one record batch without chunking (refused over 1 MiB).
      await producer.send(
        many,
        Array.from({ length: 300 }, (_, i) => ({ key: `k${i}`, value: Buffer.alloc(10_000, 97 + (i % 26)) })),
      );
      await producer.send(large, [{ key: 'city', value: Buffer.alloc(2_500_000, 120) }]);
      const seen = new Map<string, number>();
      const c = await transport.consume({
        groupId: `${prefix}-big`,
        topics: [many, large],
        fromBeginning: true,
        onBatch: async (b) => void b.records.forEach((r) => seen.set(`${r.topic}/${r.key}`, r.value.length)),
      });
      await waitFor(() => seen.size >= 301, 30_000);
      await c.stop();
      expect(seen.get(`${many}/k299`)).toBe(10_000);
      expect(seen.get(`${large}/city`)).toBe(2_500_000);
      await transport.close();
    });

    it('reports lag until a batch is handled, commits only after the handler, and calls onAssigned/onRevoked', async () => {
      const { transport, prefix } = await fresh();
      const topic = `${prefix}.lag`;
      await transport.ensureTopics([{ name: topic, partitions: 2 }]);
      await (
        await transport.producer()
      ).send(
        topic,
        Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: Buffer.from(String(i)) })),
      );
      const events: string[] = [];
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let handled = 0;
      const consumer = await transport.consume({
        groupId: `${prefix}-lag`,
        topics: [topic],
        maxBatchSize: 3,
        onAssigned: (tps) => void events.push(`assigned ${tps.map((tp) => tp.partition).join(',')}`),
        onRevoked: (tps) => void events.push(`revoked ${tps.map((tp) => tp.partition).join(',')}`),
        onBatch: async (b) => {
          events.push('batch');
          expect(b.records.length).toBeLessThanOrEqual(3);
          await gate;
          handled += b.records.length;
        },
      });
      expect(events).toEqual(['assigned 0,1']);
      await waitFor(() => events.includes('batch'));
      expect(await consumer.lag()).toEqual({ [topic]: 10 });
      release();
      await waitFor(() => handled >= 10);
      await waitFor(async () => ((await consumer.lag())[topic] ?? -1) === 0);
      await consumer.stop();
      expect(events.at(-1)).toBe('revoked 0,1');
      expect(await consumer.lag()).toEqual({});
      await transport.close();
    });

    it('hands partitions over on rebalance through onRevoked/onAssigned', async () => {
      const { transport, prefix } = await fresh();
      const topic = `${prefix}.rebalance`;
      await transport.ensureTopics([{ name: topic, partitions: 4 }]);
      const groupId = `${prefix}-rb`;
      const owned = [new Set<number>(), new Set<number>()];
      const member = (i: number) =>
        transport.consume({
          groupId,
          topics: [topic],
          onBatch: async () => {},
          onAssigned: (tps) => tps.forEach((tp) => owned[i]!.add(tp.partition)),
          onRevoked: (tps) => tps.forEach((tp) => owned[i]!.delete(tp.partition)),
        });
      const a = await member(0);
      expect([...owned[0]!].sort()).toEqual([0, 1, 2, 3]);
      const b = await member(1);
      await waitFor(() => owned[0]!.size + owned[1]!.size === 4 && owned[0]!.size > 0 && owned[1]!.size > 0);
      expect(new Set([...owned[0]!, ...owned[1]!]).size).toBe(4);
      await b.stop();
      expect(owned[1]!.size).toBe(0);
      await waitFor(() => owned[0]!.size === 4);
      await a.stop();
      expect(owned[0]!.size).toBe(0);
      await transport.close();
    });

    /** The group's committed offsets as `partition:offset`. */
    const committedOf = async (admin: Admin, groupId: string, topic: string) =>
      (await admin.fetchOffsets({ groupId, topics: [topic] }))[0]!.partitions.map((p) => `${p.partition}:${p.offset}`).sort();

    /** Group `groupId` consumes and commits `count` records (keys k0..k9) with a member that then stops. */
    const consumeAndCommit = async (transport: StreamTransport, groupId: string, topic: string, count: number, size = 0) => {
      const producer = await transport.producer();
      // One send per record when they are big: a broker takes record batches of at most 1 MB.
      for (let i = 0; i < count; i += size > 0 ? 1 : count) {
        const n = size > 0 ? 1 : count;
        await producer.send(
          topic,
          Array.from({ length: n }, (_, j) => ({
            key: `k${(i + j) % 10}`,
            value: Buffer.concat([Buffer.from(`old-${i + j}`), Buffer.alloc(size, 32)]),
          })),
        );
      }
      let got = 0;
      const member = await transport.consume({ groupId, topics: [topic], onBatch: async (b) => void (got += b.records.length) });
      await waitFor(() => got >= count);
      await member.stop();
      return producer;
    };

    it('hands a partition over on rebalance only after the batch in flight was handled and committed', async () => {
      const { transport, prefix, admin } = await fresh();
      const topic = `${prefix}.handover`;
      await transport.ensureTopics([{ name: topic, partitions: 2 }]);
      const groupId = `${prefix}-ho`;
      const values = Array.from({ length: 40 }, (_, i) => `v${i}`);
      const producer = await transport.producer();
      await producer.send(
        topic,
        values.map((v, i) => ({ key: `k${i % 8}`, value: Buffer.from(v) })),
      );
      const seen: string[] = [];
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let atGate = false;
      let handledByA = 0;
      const a = await transport.consume({
        groupId,
        topics: [topic],
        onBatch: async (b) => {
          atGate = true;
          await gate;
          seen.push(...b.records.map((r) => r.value.toString()));
          handledByA += b.records.length;
        },
      });
      await waitFor(() => atGate);
      // B joins while A's batch is in flight: the group waits for A, and A hands over only after that batch.
      let atAssignment: { handled: number; committed: number } | undefined;
      const joining = transport.consume({
        groupId,
        topics: [topic],
        onAssigned: async () => {
          const committed = await committedOf(admin, groupId, topic);
          atAssignment ??= {
            handled: handledByA,
            committed: committed.reduce((sum, tp) => sum + Math.max(0, Number(tp.split(':')[1])), 0),
          };
        },
        onBatch: async (b) => void seen.push(...b.records.map((r) => r.value.toString())),
      });
      await sleep(1500);
      release();
      const b = await joining;
      await waitFor(() => new Set(seen).size >= values.length);
      // End markers on both partitions: once both are seen, any duplicate before them has been seen too.
      await producer.send(topic, [
        { key: 'end-a', value: Buffer.from('end-a') },
        { key: 'end-b', value: Buffer.from('end-b') },
        { key: 'end-c', value: Buffer.from('end-c') },
        { key: 'end-d', value: Buffer.from('end-d') },
      ]);
      await waitFor(() => seen.filter((v) => v.startsWith('end-')).length >= 4);
      await Promise.all([a.stop(), b.stop()]);
      expect(atAssignment!.handled).toBeGreaterThan(0);
      if (suite.commitsBeforeHandover) expect(atAssignment!.committed).toBe(atAssignment!.handled);
      else expect(atAssignment!.committed).toBeLessThanOrEqual(atAssignment!.handled);
      expect(seen.filter((v) => !v.startsWith('end-')).sort()).toEqual([...values].sort());
      await transport.close();
    });

    it('leaves the committed offsets as they were when a member is stopped in the middle of a rebuild', async () => {
      const { transport, prefix, admin } = await fresh();
      const topic = `${prefix}.rebuild-stop`;
      await transport.ensureTopics([{ name: topic, partitions: 2 }]);
      const groupId = `${prefix}-rs`;
      const producer = await consumeAndCommit(transport, groupId, topic, 60);
      const before = await committedOf(admin, groupId, topic);
      expect(before.reduce((sum, tp) => sum + Number(tp.split(':')[1]), 0)).toBe(60);
      await producer.send(
        topic,
        Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: Buffer.from(`new-${i}`) })),
      );

      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const deliveries: { replay: boolean; first: number; partition: number }[] = [];
      let failures = 1;
      const member = await transport.consume({
        groupId,
        topics: [topic],
        rebuildOnAssign: true,
        maxBatchSize: 5,
        onBatch: async (b) => {
          deliveries.push({ replay: b.replay === true, first: b.records[0]!.offset, partition: b.partition });
          if (failures-- > 0) throw new Error('simulated failure in a replay batch');
          if (deliveries.length >= 4) await gate;
        },
      });
      await waitFor(() => deliveries.length >= 4);
      // A failed replay batch is delivered again; handled replay batches are not committed.
      expect(deliveries[1]).toEqual(deliveries[0]);
      expect(deliveries.every((d) => d.replay)).toBe(true);
      expect(await committedOf(admin, groupId, topic)).toEqual(before);
      const stopping = member.stop();
      await sleep(300);
      release();
      await stopping;
      expect(deliveries).toHaveLength(4);
      expect(await committedOf(admin, groupId, topic)).toEqual(before);
      await transport.close();
    });

    it('keeps rebuilding a partition a member retains across a rebalance, and hands the other over to rebuild', async () => {
      const { transport, prefix, admin } = await fresh();
      const topic = `${prefix}.rebuild-rebalance`;
      await transport.ensureTopics([{ name: topic, partitions: 2 }]);
      const groupId = `${prefix}-rr`;
      const producer = await consumeAndCommit(transport, groupId, topic, 80);
      const committed = await committedOf(admin, groupId, topic);
      await producer.send(
        topic,
        Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: Buffer.from(`new-${i}`) })),
      );

      type Seen = { member: number; partition: number; offset: number; replay: boolean };
      const seen: (Seen | 'rebalanced')[] = [];
      const owned = [new Set<number>(), new Set<number>()];
      const member = (i: number) =>
        transport.consume({
          groupId,
          topics: [topic],
          rebuildOnAssign: true,
          maxBatchSize: 2,
          onAssigned: (tps) => tps.forEach((tp) => owned[i]!.add(tp.partition)),
          onRevoked: (tps) => {
            if (i === 0) seen.push('rebalanced'); // the first is the rebalance (then the stop)
            tps.forEach((tp) => owned[i]!.delete(tp.partition));
          },
          onBatch: async (b) => {
            await sleep(60); // a slow rebuild: ~1.2 s per partition
            seen.push(...b.records.map((r) => ({ member: i, partition: r.partition, offset: r.offset, replay: b.replay === true })));
          },
        });
      const records = () => seen.filter((s): s is Seen => s !== 'rebalanced');
      const a = await member(0);
      await waitFor(() => records().filter((s) => s.replay).length >= 4);
      const b = await member(1);
      await waitFor(() => owned[0]!.size === 1 && owned[1]!.size === 1);
      await waitFor(() => records().filter((s) => !s.replay).length >= 10);
      await sleep(300);
      const final = owned.map((set) => [...set]);
      await Promise.all([a.stop(), b.stop()]);

      // The rebalance came in the middle of member 0's rebuild.
      const rebalancedAt = seen.indexOf('rebalanced');
      expect(rebalancedAt).toBeGreaterThan(0);
      expect(seen.slice(rebalancedAt).some((s) => s !== 'rebalanced' && s.member === 0 && s.replay)).toBe(true);
      const normal = records().filter((s) => !s.replay);
      expect(normal).toHaveLength(10); // each new record once
      for (const i of [0, 1]) {
        const partition = final[i]![0]!;
        const until = Number(committed.find((c) => c.startsWith(`${partition}:`))!.split(':')[1]);
        // The final owner replayed every record below the committed offset of its partition: none skipped by the rebalance.
        const replayed = new Set(
          records()
            .filter((s) => s.member === i && s.partition === partition && s.replay)
            .map((s) => s.offset),
        );
        expect([...replayed].sort((x, y) => x - y)).toEqual(Array.from({ length: until }, (_, o) => o));
        expect(normal.filter((s) => s.partition === partition).every((s) => s.member === i)).toBe(true);
      }
      expect(committed.reduce((sum, tp) => sum + Number(tp.split(':')[1]), 0)).toBe(80);
      expect((await committedOf(admin, groupId, topic)).reduce((sum, tp) => sum + Number(tp.split(':')[1]), 0)).toBe(90);
      await transport.close();
    });

    it('puts the group position back and resumes the rebuild when retention removes records being replayed', async () => {
      const { transport, prefix, admin } = await fresh();
      const topic = `${prefix}.rebuild-deleted`;
      await transport.ensureTopics([{ name: topic, partitions: 1 }]);
      const groupId = `${prefix}-rd`;
      // 30 records of 100 kB: a fetch (1 MB per partition) holds only some of them.
      const producer = await consumeAndCommit(transport, groupId, topic, 30, 100_000);
      expect(await committedOf(admin, groupId, topic)).toEqual(['0:30']);
      await producer.send(
        topic,
        Array.from({ length: 3 }, (_, i) => ({ key: `k${i}`, value: Buffer.from(`new-${i}`) })),
      );

      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const seen: { offset: number; replay: boolean }[] = [];
      const positions = new Set<string>();
      const member = await transport.consume({
        groupId,
        topics: [topic],
        rebuildOnAssign: true,
        onBatch: async (b) => {
          await gate;
          if (b.replay) positions.add((await committedOf(admin, groupId, topic)).join());
          seen.push(...b.records.map((r) => ({ offset: r.offset, replay: b.replay === true })));
        },
      });
      await sleep(500); // the first replay batch is waiting at the gate
      await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '20' }] });
      release();
      await waitFor(() => seen.filter((s) => !s.replay).length >= 3);
      await sleep(300);
      await member.stop();
      const replayed = seen.filter((s) => s.replay).map((s) => s.offset);
      expect(replayed.length).toBeLessThan(30); // some were deleted before the replay reached them
      expect(replayed.slice(-10)).toEqual(Array.from({ length: 10 }, (_, i) => 20 + i)); // the rest of the replay
      expect(new Set(replayed).size).toBe(replayed.length);
      expect(seen.filter((s) => !s.replay).map((s) => s.offset)).toEqual([30, 31, 32]);
      // The group's position never moved while the replay went on (kafkajs commits its default offset on OFFSET_OUT_OF_RANGE: it is put back).
      expect([...positions]).toEqual(['0:30']);
      expect(await committedOf(admin, groupId, topic)).toEqual(['0:33']);
      await transport.close();
    });

    it('a topic an earlier version created delete-only, now compacted by its spec: its policy changes, its other settings stay', async () => {
      const { transport, prefix, admin } = await fresh();
      const name = `${prefix}.metrics`;
      await transport.ensureTopics([{ name, partitions: 1, retentionMs: 3_600_000, configs: { 'max.message.bytes': '2097152' } }]);
      const spec = { name, partitions: 1, compacted: true, retentionMs: 604_800_000, configs: { 'segment.ms': '3600000' } };
      await transport.ensureTopics([spec]);
      const configs = async () => {
        const { resources } = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name }] });
        return Object.fromEntries(resources[0]!.configEntries.map((e) => [e.configName, e.configValue]));
      };
      expect(await configs()).toMatchObject({
        'cleanup.policy': 'compact,delete',
        'segment.ms': '3600000',
        'retention.ms': '3600000', // as it was: an operator may have set it
        'max.message.bytes': '2097152',
      });
      // Once it compacts, a start leaves it alone (an operator's later change stays).
      await admin.alterConfigs({
        validateOnly: false,
        resources: [{ type: 2, name, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }],
      });
      await transport.ensureTopics([spec]);
      expect((await configs())['cleanup.policy']).toBe('compact');
      await transport.close();
    });

    it('creates compacted and retention-limited topics, leaves existing ones, rejects unknown topics', async () => {
      const { transport, prefix, admin } = await fresh();
      const compacted = `${prefix}.state`;
      const retained = `${prefix}.raw`;
      await transport.ensureTopics([
        { name: compacted, partitions: 1, compacted: true },
        { name: retained, partitions: 2, retentionMs: 3_600_000 },
      ]);
      await transport.ensureTopics([{ name: retained, partitions: 5 }]); // exists: left as it is
      const meta = await admin.fetchTopicMetadata({ topics: [compacted, retained] });
      expect(meta.topics.find((t) => t.name === retained)!.partitions).toHaveLength(2);
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [compacted, retained].map((name) => ({ type: 2, name, configNames: ['cleanup.policy', 'retention.ms'] })),
      });
      const config = (name: string, key: string) =>
        resources.find((r) => r.resourceName === name)!.configEntries.find((e) => e.configName === key)!.configValue;
      expect(config(compacted, 'cleanup.policy')).toBe('compact');
      expect(config(retained, 'cleanup.policy')).toBe('delete');
      expect(config(retained, 'retention.ms')).toBe('3600000');
      await expect((await transport.producer()).send(`${prefix}.missing`, [{ key: 'a', value: Buffer.from('x') }])).rejects.toThrow(
        /unknown topic/,
      );
      await expect(transport.consume({ groupId: `${prefix}-x`, topics: [`${prefix}.missing`], onBatch: async () => {} })).rejects.toThrow(
        /unknown topic/,
      );
      await transport.close();
    });
  });
}
