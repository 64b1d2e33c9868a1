import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { Batch, Consumer, StreamRecord, StreamTransport } from './types.js';

export interface StreamContractOptions {
  /**
   * Whether the transport keeps records the group has committed (Kafka: until retention), so
   * `rebuildOnAssign` replays all of them; the in-process log drops them, so it may replay fewer.
   */
  retainsCommitted: boolean;
}

/**
 * The behaviour every transport must show, run against each of them (in-process here, the real
 * Kafka broker in the Kafka transport's tests). `fresh` returns a transport and a unique prefix
 * for topic and group names, so runs do not see each other's data.
 */
export function streamContract(
  name: string,
  fresh: () => Promise<{ transport: StreamTransport; prefix: string }>,
  options: StreamContractOptions,
) {
  const waitFor = async (check: () => boolean, timeoutMs = 30_000) => {
    const until = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > until) throw new Error('timed out waiting for condition');
      await sleep(20);
    }
  };

  describe(`stream contract: ${name}`, () => {
    it('keeps one key in order on one partition and delivers every message', async () => {
      const { transport, prefix } = await fresh();
      const topic = `${prefix}.ordered`;
      await transport.ensureTopics([{ name: topic, partitions: 4 }]);
      expect(await transport.partitionCount(topic)).toBe(4);
      const producer = await transport.producer();
      const keys = ['node-a', 'node-b', 'node-c', 'node-d', 'node-e'];
      const messages = Array.from({ length: 200 }, (_, i) => ({ key: keys[i % keys.length]!, value: Buffer.from(String(i)) }));
      await producer.send(topic, messages);
      const seen: StreamRecord[] = [];
      const consumer = await transport.consume({
        groupId: `${prefix}-g1`,
        topics: [topic],
        fromBeginning: true,
        onBatch: async (b: Batch) => void seen.push(...b.records),
      });
      await waitFor(() => seen.length >= 200);
      await consumer.stop();
      expect(seen).toHaveLength(200);
      for (const key of keys) {
        const mine = seen.filter((r) => r.key === key);
        expect(new Set(mine.map((r) => r.partition)).size).toBe(1);
        const values = mine.map((r) => Number(r.value.toString()));
        expect(values).toEqual([...values].sort((a, b) => a - b));
      }
      await transport.close();
    });

    it("stamps each record with its append time, whatever time its value carries (Kafka's retention counts from it)", async () => {
      const { transport, prefix } = await fresh();
      const topic = `${prefix}.stamped`;
      await transport.ensureTopics([{ name: topic, partitions: 2 }]);
      const producer = await transport.producer();
      // Readings from a gateway's 3-day-old buffer and from a device 2 h ahead.
      const events = [Date.now() - 3 * 86_400_000, Date.now() + 7_200_000];
      const before = Date.now();
      await producer.send(
        topic,
        events.map((ts, i) => ({ key: `k${i}`, value: Buffer.from(JSON.stringify({ ts })) })),
      );
      const after = Date.now();
      const seen: StreamRecord[] = [];
      const consumer = await transport.consume({
        groupId: `${prefix}-stamped`,
        topics: [topic],
        fromBeginning: true,
        onBatch: async (b) => void seen.push(...b.records),
      });
      await waitFor(() => seen.length >= events.length);
      await consumer.stop();
      for (const r of seen) {
        expect(r.timestamp).toBeGreaterThanOrEqual(before);
        expect(r.timestamp).toBeLessThanOrEqual(after);
      }
      expect(seen.map((r) => (JSON.parse(r.value.toString()) as { ts: number }).ts).sort()).toEqual(events);
      await transport.close();
    });

    it('redelivers a batch whose handler failed, and resumes a group from its committed position', async () => {
      const { transport, prefix } = await fresh();
      const topic = `${prefix}.resume`;
      await transport.ensureTopics([{ name: topic, partitions: 2 }]);
      const producer = await transport.producer();
      await producer.send(
        topic,
        Array.from({ length: 50 }, (_, i) => ({ key: `k${i % 7}`, value: Buffer.from(String(i)) })),
      );
      const seen = new Map<string, number>();
      let failures = 1;
      const groupId = `${prefix}-g2`;
      const first = await transport.consume({
        groupId,
        topics: [topic],
        fromBeginning: true,
        onBatch: async (b) => {
          if (failures-- > 0) throw new Error('simulated processing failure');
          for (const r of b.records) seen.set(r.value.toString(), (seen.get(r.value.toString()) ?? 0) + 1);
        },
      });
      await waitFor(() => seen.size >= 50);
      await first.stop();
      expect([...seen.values()].every((n) => n === 1)).toBe(true);

      await producer.send(
        topic,
        Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: Buffer.from(String(100 + i)) })),
      );
      const after: string[] = [];
      const second = await transport.consume({
        groupId,
        topics: [topic],
        fromBeginning: true,
        onBatch: async (b) => void after.push(...b.records.map((r) => r.value.toString())),
      });
      await waitFor(() => after.length >= 10);
      await second.stop();
      expect(after.sort()).toEqual(Array.from({ length: 10 }, (_, i) => String(100 + i)).sort());
      await transport.close();
    });

    it('shares partitions between two members of a group without duplicates', async () => {
      const { transport, prefix } = await fresh();
      const topic = `${prefix}.shared`;
      await transport.ensureTopics([{ name: topic, partitions: 4 }]);
      const groupId = `${prefix}-g3`;
      const byMember: string[][] = [[], []];
      const a = await transport.consume({
        groupId,
        topics: [topic],
        fromBeginning: true,
        onBatch: async (b) => void byMember[0]!.push(...b.records.map((r) => r.value.toString())),
      });
      const b = await transport.consume({
        groupId,
        topics: [topic],
        fromBeginning: true,
        onBatch: async (x) => void byMember[1]!.push(...x.records.map((r) => r.value.toString())),
      });
      const producer = await transport.producer();
      await producer.send(
        topic,
        Array.from({ length: 400 }, (_, i) => ({ key: `node-${i % 40}`, value: Buffer.from(String(i)) })),
      );
      await waitFor(() => byMember[0]!.length + byMember[1]!.length >= 400);
      await Promise.all([a.stop(), b.stop()]);
      const all = [...byMember[0]!, ...byMember[1]!];
      expect(new Set(all).size).toBe(400);
      expect(all).toHaveLength(400);
      expect(byMember[0]!.length).toBeGreaterThan(0);
      expect(byMember[1]!.length).toBeGreaterThan(0);
      await transport.close();
    });

    it('starts a group without a committed position at the end when not fromBeginning: later records only', async () => {
      const { transport, prefix } = await fresh();
      const topic = `${prefix}.latest`;
      await transport.ensureTopics([{ name: topic, partitions: 1 }]);
      const producer = await transport.producer();
      await producer.send(topic, [{ key: 'k', value: Buffer.from('before') }]);
      const seen: string[] = [];
      const consumer = await transport.consume({
        groupId: `${prefix}-latest`,
        topics: [topic],
        fromBeginning: false,
        onBatch: async (b) => void seen.push(...b.records.map((r) => r.value.toString())),
      });
      // Kafka places a new group at the end at its first fetch, a moment after joining: send until one arrives.
      for (let i = 0; seen.length === 0; i++) {
        if (i > 100) throw new Error('nothing sent after joining arrived');
        await producer.send(topic, [{ key: 'k', value: Buffer.from('after') }]);
        await sleep(300);
      }
      await consumer.stop();
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.filter((v) => v !== 'after')).toEqual([]);
      await transport.close();
    });

    it('holds() the partitions a member owns, not those another member took, nothing once stopping', async () => {
      const { transport, prefix } = await fresh();
      const topic = `${prefix}.held`;
      await transport.ensureTopics([{ name: topic, partitions: 2 }]);
      const groupId = `${prefix}-held`;
      const tp = (partition: number) => ({ topic, partition });
      const owned = new Map<string, Set<number>>([
        ['a', new Set()],
        ['b', new Set()],
      ]);
      const member = (name: string) =>
        transport.consume({
          groupId,
          topics: [topic],
          onBatch: async () => {},
          onAssigned: (ps) => ps.forEach((p) => owned.get(name)!.add(p.partition)),
          onRevoked: (ps) => ps.forEach((p) => owned.get(name)!.delete(p.partition)),
        });
      const a = await member('a');
      expect([a.holds(tp(0)), a.holds(tp(1))]).toEqual([true, true]);
      const b = await member('b');
      await waitFor(() => owned.get('a')!.size === 1 && owned.get('b')!.size === 1);
      const [ofA] = [...owned.get('a')!];
      expect(a.holds(tp(ofA!))).toBe(true);
      expect(a.holds(tp(1 - ofA!))).toBe(false);
      expect(b.holds(tp(1 - ofA!))).toBe(true);
      expect(a.holds({ topic: `${prefix}.other`, partition: 0 })).toBe(false);
      let heldWhileRevoked: boolean | undefined;
      const stopping = transport.consume({
        groupId: `${prefix}-held-stop`,
        topics: [topic],
        onBatch: async () => {},
        onRevoked: () => void (heldWhileRevoked = c.holds(tp(0))),
      });
      const c = await stopping;
      expect(c.holds(tp(0))).toBe(true);
      await c.stop();
      expect(heldWhileRevoked).toBe(false);
      expect(c.holds(tp(0))).toBe(false);
      await Promise.all([a.stop(), b.stop()]);
      await transport.close();
    });

    it('sticky: a member that joins takes nothing from one that holds; partitions of a member that left are shared out', async () => {
      const { transport, prefix } = await fresh();
      const topic = `${prefix}.sticky`;
      await transport.ensureTopics([{ name: topic, partitions: 2 }]);
      const groupId = `${prefix}-sticky`;
      const tp = (partition: number) => ({ topic, partition });
      const member = () => transport.consume({ groupId, topics: [topic], sticky: true, onBatch: async () => {} });
      const a = await member();
      const b = await member();
      const c = await member();
      // b and c joined: a keeps both partitions (a rebalance has completed once b and c hold their empty share).
      expect([a.holds(tp(0)), a.holds(tp(1))]).toEqual([true, true]);
      expect([b.holds(tp(0)), b.holds(tp(1)), c.holds(tp(0)), c.holds(tp(1))]).toEqual([false, false, false, false]);
      await a.stop();
      await waitFor(() => b.holds(tp(0)) !== c.holds(tp(0)) && b.holds(tp(1)) !== c.holds(tp(1)));
      // One each: the unowned partitions went to the members with the fewest.
      expect([b, c].map((m) => [0, 1].filter((p) => m.holds(tp(p))).length)).toEqual([1, 1]);
      await Promise.all([b.stop(), c.stop()]);
      await transport.close();
    });

    it('rebuilds gained partitions from records below the committed position (replay, uncommitted), then goes on from it', async () => {
      const { transport, prefix } = await fresh();
      const topic = `${prefix}.rebuild`;
      await transport.ensureTopics([{ name: topic, partitions: 2 }]);
      const groupId = `${prefix}-g4`;
      const producer = await transport.producer();
      const keys = Array.from({ length: 8 }, (_, i) => `node-${i}`);
      const old = Array.from({ length: 40 }, (_, i) => `old-${i}`);
      const fresher = Array.from({ length: 12 }, (_, i) => `new-${i}`);
      const send = (values: string[]) =>
        producer.send(
          topic,
          values.map((v, i) => ({ key: keys[i % keys.length]!, value: Buffer.from(v) })),
        );
      type Seen = { value: string; partition: number; replay: boolean };
      const collect = (into: Seen[]) => async (b: Batch) =>
        void into.push(...b.records.map((r) => ({ value: r.value.toString(), partition: r.partition, replay: b.replay === true })));

      // A: the group has no committed position yet, so there is nothing to rebuild.
      await send(old);
      const seenA: Seen[] = [];
      const a = await transport.consume({ groupId, topics: [topic], rebuildOnAssign: true, onBatch: collect(seenA) });
      await waitFor(() => seenA.length >= old.length);
      await a.stop();
      expect(seenA.filter((s) => s.replay)).toEqual([]);
      expect(seenA.map((s) => s.value).sort()).toEqual([...old].sort());

      // B gains both partitions: replay below the committed position first, then exactly the new records.
      await send(fresher);
      const seenB: Seen[] = [];
      const events: string[] = [];
      const lags: Record<string, number>[] = [];
      let consumerB: Consumer | undefined;
      const b = (consumerB = await transport.consume({
        groupId,
        topics: [topic],
        rebuildOnAssign: true,
        maxBatchSize: 7,
        onAssigned: (tps) => void events.push(`assigned ${tps.map((tp) => tp.partition).join(',')}`),
        onBatch: async (batch) => {
          events.push(batch.replay ? 'replay' : 'batch');
          await collect(seenB)(batch);
          if (!batch.replay) return;
          await waitFor(() => consumerB !== undefined);
          lags.push(await consumerB!.lag());
        },
      }));
      const replayed = () => seenB.filter((s) => s.replay).map((s) => s.value);
      const normal = () => seenB.filter((s) => !s.replay).map((s) => s.value);
      await waitFor(() => normal().length >= fresher.length && (!options.retainsCommitted || replayed().length >= old.length));
      // End markers, sent now, on both partitions: a partition delivers in order, so once its marker
      // is seen, any wrong extra delivery before it (a replay again, a record twice) has been seen too.
      const markers = Array.from({ length: 16 }, (_, i) => `end-${i}`);
      await producer.send(
        topic,
        markers.map((v) => ({ key: `end-key-${v}`, value: Buffer.from(v) })),
      );
      await waitFor(() => markers.every((m) => seenB.some((s) => s.value === m)));
      const ended = new Set(markers);
      expect(new Set(seenB.filter((s) => ended.has(s.value)).map((s) => s.partition))).toEqual(new Set([0, 1]));
      seenB.splice(0, seenB.length, ...seenB.filter((s) => !ended.has(s.value)));
      await b.stop();
      expect(events[0]).toBe('assigned 0,1');
      // Lag = records above the committed position: more than the new ones would mean it moved back.
      for (const lag of lags) expect(lag[topic]).toBeLessThanOrEqual(fresher.length);
      expect(normal().sort()).toEqual([...fresher].sort());
      if (options.retainsCommitted) expect(replayed().sort()).toEqual([...old].sort());
      else {
        expect(new Set(replayed()).size).toBe(replayed().length);
        for (const v of replayed()) expect(old).toContain(v);
      }
      for (const partition of [0, 1]) {
        const mine = seenB.filter((s) => s.partition === partition);
        const firstNormal = mine.findIndex((s) => !s.replay);
        if (firstNormal >= 0) expect(mine.slice(firstNormal).every((s) => !s.replay)).toBe(true); // replay strictly before normal delivery
      }

      // C, without rebuild: the group's position did not move back, so nothing old comes again.
      const seenC: Seen[] = [];
      const c = await transport.consume({ groupId, topics: [topic], onBatch: collect(seenC) });
      await send(['marker']);
      await waitFor(() => seenC.some((s) => s.value === 'marker'));
      await c.stop();
      expect(seenC).toEqual([expect.objectContaining({ value: 'marker', replay: false })]);
      await transport.close();
    });

    it('rebuilds from the offset rebuildFrom names (a restored snapshot), not from the earliest record', async () => {
      const { transport, prefix } = await fresh();
      const topic = `${prefix}.from`;
      await transport.ensureTopics([{ name: topic, partitions: 1 }]);
      const producer = await transport.producer();
      const send = (from: number, count: number) =>
        producer.send(
          topic,
          Array.from({ length: count }, (_, i) => ({ key: 'k', value: Buffer.from(String(from + i)) })),
        );
      // The in-process log drops what every group committed: a group that reads nothing keeps it all.
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const holder = options.retainsCommitted
        ? null
        : await transport.consume({ groupId: `${prefix}-holder`, topics: [topic], onBatch: () => gate });
      await send(0, 30);
      const groupId = `${prefix}-g5`;
      let got = 0;
      const a = await transport.consume({ groupId, topics: [topic], onBatch: async (b) => void (got += b.records.length) });
      await waitFor(() => got >= 30);
      await a.stop();
      await send(30, 5);

      const asked: number[] = [];
      const seen: { value: string; offset: number; replay: boolean }[] = [];
      const b = await transport.consume({
        groupId,
        topics: [topic],
        rebuildOnAssign: true,
        maxBatchSize: 4,
        rebuildFrom: (tp) => {
          asked.push(tp.partition);
          return 20;
        },
        onBatch: async (batch) =>
          void seen.push(...batch.records.map((r) => ({ value: r.value.toString(), offset: r.offset, replay: batch.replay === true }))),
      });
      await waitFor(() => seen.filter((s) => !s.replay).length >= 5);
      // An end marker: once it is delivered, anything wrongly delivered before it has been seen too.
      await producer.send(topic, [{ key: 'k', value: Buffer.from('end') }]);
      await waitFor(() => seen.some((s) => s.value === 'end'));
      await b.stop();
      expect(asked).toEqual([0]);
      expect(seen.filter((s) => s.replay).map((s) => s.value)).toEqual(Array.from({ length: 10 }, (_, i) => String(20 + i)));
      expect(seen.filter((s) => !s.replay).map((s) => s.value)).toEqual(['30', '31', '32', '33', '34', 'end']);
      release();
      await holder?.stop();
      await transport.close();
    });
  });
}
