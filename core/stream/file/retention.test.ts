import { describe, expect, it, vi } from 'vitest';
import { freshStateDir } from '../../../test/helpers.js';
import { Segment } from './segment.js';
import { FileTransport } from './transport.js';

const HOUR = 3_600_000;

/** Every record of partition 0 from the earliest retained one, as `key=value`. */
function readAll(transport: FileTransport, topic: string): string[] {
  const p = transport.topic(topic)[0]!;
  const out: string[] = [];
  for (let from = p.base; from < p.end;) {
    const { records, next } = p.read(from, 1000, p.end);
    out.push(...records.map((r) => `${r.key}=${r.value.toString()}`));
    from = next;
  }
  return out;
}

describe('file log retention', () => {
  it('deletes the oldest closed segments beyond the size limit and past the age limit, never the segment being written', async () => {
    let now = 1_000_000;
    const dir = freshStateDir();
    const transport = new FileTransport({ dir, segmentBytes: 1000, retentionBytes: 3000, cacheBytes: 0, now: () => now });
    await transport.ensureTopics([{ name: 'r', partitions: 1, retentionMs: HOUR }]);
    const producer = await transport.producer();
    for (let i = 0; i < 200; i++) await producer.send('r', [{ key: 'k', value: Buffer.from(`v${i}`.padEnd(40, '.')) }]);
    const p = transport.topic('r')[0]!;
    // Size: at most the limit plus the segment being written remain; what remains is the newest, in order.
    expect(p.bytes).toBeLessThanOrEqual(3000 + 1000);
    expect(p.base).toBeGreaterThan(0);
    expect(readAll(transport, 'r')).toEqual(Array.from({ length: 200 - p.base }, (_, i) => `k=${`v${p.base + i}`.padEnd(40, '.')}`));
    // Age: an hour later, only the segment being written is left.
    now += HOUR + 1;
    await transport.enforceRetention();
    expect(p.base).toBeGreaterThan(150);
    expect(p.end).toBe(200);
    await producer.send('r', [{ key: 'k', value: Buffer.from('new') }]);
    expect(readAll(transport, 'r').at(-1)).toBe('k=new');
    await transport.close();
  });

  it('compacts a compacted topic: closed segments keep only the latest record of each key, also after a restart', async () => {
    const dir = freshStateDir();
    const open = async () => {
      const t = new FileTransport({ dir, segmentBytes: 16 * 1000, cacheBytes: 0 });
      await t.ensureTopics([{ name: 'c', partitions: 1, compacted: true }]);
      return t;
    };
    const transport = await open();
    const producer = await transport.producer();
    const keys = ['a', 'b', 'c'];
    for (let i = 0; i < 300; i++) await producer.send('c', [{ key: keys[i % 3]!, value: Buffer.from(`${i}`.padEnd(30, '.')) }]);
    await transport.enforceRetention();
    const records = readAll(transport, 'c');
    // What a reader from the beginning gets is small, and its last record per key is each key's latest.
    expect(records.length).toBeLessThan(100);
    const latest = (list: string[]) => Object.fromEntries(list.map((r) => r.split('=') as [string, string]));
    expect(latest(records)).toEqual({ a: '297'.padEnd(30, '.'), b: '298'.padEnd(30, '.'), c: '299'.padEnd(30, '.') });
    await transport.close();
    const again = await open();
    expect(readAll(again, 'c')).toEqual(records);
    await again.close();
  });

  it("compaction reads no segment whose records are all still their keys' latest (a large registry is not decoded at every pass)", async () => {
    const transport = new FileTransport({ dir: freshStateDir(), segmentBytes: 16 * 1000, cacheBytes: 0 });
    await transport.ensureTopics([{ name: 'c', partitions: 1, compacted: true }]);
    const producer = await transport.producer();
    // 100 distinct keys over several closed segments (compacted topics roll at 1000 bytes here), then one replaced.
    for (let i = 0; i < 100; i++) await producer.send('c', [{ key: `k${i}`, value: Buffer.from(`${i}`.padEnd(30, '.')) }]);
    await producer.send('c', [{ key: 'k0', value: Buffer.from('new') }]);
    const compact = vi.spyOn(Segment.prototype, 'compact');
    try {
      await transport.enforceRetention();
      // Only the first segment (holding k0's old record) is rewritten.
      expect(compact).toHaveBeenCalledTimes(1);
      compact.mockClear();
      await transport.enforceRetention();
      expect(compact).not.toHaveBeenCalled();
    } finally {
      compact.mockRestore();
    }
    const records = readAll(transport, 'c');
    expect(records).toHaveLength(100);
    expect(records.at(-1)).toBe('k0=new');
    expect(records.filter((r) => r.startsWith('k0='))).toEqual(['k0=new']);
    await transport.close();
  });
});
