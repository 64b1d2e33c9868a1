import { describe, expect, it } from 'vitest';
import type { Batch, StreamRecord, StreamTransport } from './types.js';

/**
 * The behaviour every transport must show, run against each of them (in-process here, the real
 * Kafka broker in the Kafka transport's tests). `fresh` returns a transport and a unique prefix
 * for topic and group names, so runs do not see each other's data.
 */
export function streamContract(name: string, fresh: () => Promise<{ transport: StreamTransport; prefix: string }>) {
  const waitFor = async (check: () => boolean, timeoutMs = 30_000) => {
    const until = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > until) throw new Error('timed out waiting for condition');
      await new Promise((r) => setTimeout(r, 20));
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

    it('redelivers a batch whose handler failed, and resumes a group from its committed position', async () => {
      const { transport, prefix } = await fresh();
      const topic = `${prefix}.resume`;
      await transport.ensureTopics([{ name: topic, partitions: 2 }]);
      const producer = await transport.producer();
      await producer.send(topic, Array.from({ length: 50 }, (_, i) => ({ key: `k${i % 7}`, value: Buffer.from(String(i)) })));
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

      await producer.send(topic, Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: Buffer.from(String(100 + i)) })));
      const after: string[] = [];
      const second = await transport.consume({ groupId, topics: [topic], fromBeginning: true, onBatch: async (b) => void after.push(...b.records.map((r) => r.value.toString())) });
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
      const a = await transport.consume({ groupId, topics: [topic], fromBeginning: true, onBatch: async (b) => void byMember[0]!.push(...b.records.map((r) => r.value.toString())) });
      const b = await transport.consume({ groupId, topics: [topic], fromBeginning: true, onBatch: async (x) => void byMember[1]!.push(...x.records.map((r) => r.value.toString())) });
      const producer = await transport.producer();
      await producer.send(topic, Array.from({ length: 400 }, (_, i) => ({ key: `node-${i % 40}`, value: Buffer.from(String(i)) })));
      await waitFor(() => byMember[0]!.length + byMember[1]!.length >= 400);
      await Promise.all([a.stop(), b.stop()]);
      const all = [...byMember[0]!, ...byMember[1]!];
      expect(new Set(all).size).toBe(400);
      expect(all).toHaveLength(400);
      expect(byMember[0]!.length).toBeGreaterThan(0);
      expect(byMember[1]!.length).toBeGreaterThan(0);
      await transport.close();
    });
  });
}
