import { describe, expect, it } from 'vitest';
import { streamContract } from './contract.js';
import { MemoryTransport } from './memory.js';
import { murmur2, partitionFor } from './partitioner.js';

let n = 0;
streamContract('in-process', async () => ({ transport: new MemoryTransport({ retryDelayMs: 10 }), prefix: `t${++n}` }));

describe('in-process log', () => {
  it('applies backpressure instead of dropping when a group falls behind', async () => {
    const transport = new MemoryTransport({ maxLag: 10 });
    await transport.ensureTopics([{ name: 't', partitions: 1 }]);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let got = 0;
    const consumer = await transport.consume({ groupId: 'g', topics: ['t'], maxBatchSize: 5, onBatch: async (b) => { await gate; got += b.records.length; } });
    const producer = await transport.producer();
    let sent = false;
    const sending = producer.send('t', Array.from({ length: 30 }, (_, i) => ({ key: 'k', value: Buffer.from(String(i)) }))).then(() => (sent = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(sent).toBe(false);
    release();
    await sending;
    while (got < 30) await new Promise((r) => setTimeout(r, 5));
    expect(got).toBe(30);
    await consumer.stop();
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
