import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { streamContract } from './contract.js';
import { MemoryTransport } from './memory.js';
import { murmur2, partitionFor } from './partitioner.js';

let n = 0;
streamContract('in-process', async () => ({ transport: new MemoryTransport({ retryDelayMs: 10 }), prefix: `t${++n}` }), {
  retainsCommitted: false,
});

describe('in-process log', () => {
  it('applies backpressure instead of dropping when a group falls behind', async () => {
    const transport = new MemoryTransport({ maxLag: 10 });
    await transport.ensureTopics([{ name: 't', partitions: 1 }]);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let got = 0;
    const consumer = await transport.consume({
      groupId: 'g',
      topics: ['t'],
      maxBatchSize: 5,
      onBatch: async (b) => {
        await gate;
        got += b.records.length;
      },
    });
    const producer = await transport.producer();
    let sent = false;
    const sending = producer
      .send(
        't',
        Array.from({ length: 30 }, (_, i) => ({ key: 'k', value: Buffer.from(String(i)) })),
      )
      .then(() => (sent = true));
    await sleep(50);
    expect(sent).toBe(false);
    release();
    await sending;
    while (got < 30) await sleep(5);
    expect(got).toBe(30);
    await consumer.stop();
  });
});

describe('in-process rebuild on assign', () => {
  it('replays what is still retained below the committed position, retries a failed replay batch, commits none of it', async () => {
    const transport = new MemoryTransport({ retryDelayMs: 5 });
    await transport.ensureTopics([{ name: 't', partitions: 1 }]);
    // A group that has read nothing keeps every record retained.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const stalled = await transport.consume({ groupId: 'stalled', topics: ['t'], onBatch: () => gate });
    const producer = await transport.producer();
    const send = (from: number, count: number) =>
      producer.send(
        't',
        Array.from({ length: count }, (_, i) => ({ key: 'k', value: Buffer.from(String(from + i)) })),
      );
    const wait = async (check: () => boolean) => {
      while (!check()) await sleep(2);
    };
    await send(0, 10);
    let got = 0;
    const a = await transport.consume({ groupId: 'g', topics: ['t'], onBatch: async (b) => void (got += b.records.length) });
    await wait(() => got >= 10);
    await a.stop();
    await send(10, 3);

    const seen: string[] = [];
    const events: string[] = [];
    let failures = 1;
    const b = await transport.consume({
      groupId: 'g',
      topics: ['t'],
      rebuildOnAssign: true,
      maxBatchSize: 4,
      onAssigned: () => void events.push('assigned'),
      onBatch: async (batch) => {
        events.push(batch.replay ? 'replay' : 'batch');
        if (batch.replay && failures-- > 0) throw new Error('simulated failure');
        seen.push(...batch.records.map((r) => `${batch.replay ? 'replay' : 'new'} ${r.value.toString()}`));
      },
    });
    await wait(() => seen.length >= 13);
    await b.stop();
    expect(events.slice(0, 3)).toEqual(['assigned', 'replay', 'replay']);
    expect(seen).toEqual([...Array.from({ length: 10 }, (_, i) => `replay ${i}`), 'new 10', 'new 11', 'new 12']);

    const after: string[] = [];
    const c = await transport.consume({
      groupId: 'g',
      topics: ['t'],
      onBatch: async (x) => void after.push(...x.records.map((r) => r.value.toString())),
    });
    await send(13, 1);
    await wait(() => after.length >= 1);
    await c.stop();
    expect(after).toEqual(['13']);
    release();
    await stalled.stop();
  });
});

describe('partitioner', () => {
  it('matches the Java client murmur2 for known keys', () => {
    // Vectors from Apache Kafka's UtilsTest.testMurmur2.
    expect(murmur2(Buffer.from('21'))).toBe(-973932308);
    expect(murmur2(Buffer.from('foobar'))).toBe(-790332482);
    expect(murmur2(Buffer.from('a-little-bit-long-string'))).toBe(-985981536);
    expect(murmur2(Buffer.from('a-little-bit-longer-string'))).toBe(-1486304829);
    expect(murmur2(Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'))).toBe(-58897971);
    expect(murmur2(Buffer.from('abc'))).toBe(479470107);
  });
  it('spreads keys over all partitions', () => {
    const counts = new Array(12).fill(0);
    for (let i = 0; i < 12_000; i++) counts[partitionFor(`SL-LX-${i}`, 12)]++;
    for (const c of counts) expect(c).toBeGreaterThan(700);
  });
});
