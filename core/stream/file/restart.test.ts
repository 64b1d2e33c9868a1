import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { Batch, StreamTransport } from '../types.js';
import { FileTransport } from './transport.js';
import { freshStateDir as freshLogDir } from '../../../test/helpers.js';

const waitFor = async (check: () => boolean, timeoutMs = 10_000) => {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out waiting for condition');
    await sleep(5);
  }
};

const values = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({ key: `node-${(from + i) % 5}`, value: Buffer.from(String(from + i)) }));

/** Reads `topic` with `groupId` until `count` records came; returns their values. */
async function read(
  transport: StreamTransport,
  groupId: string,
  count: number,
  extra: Partial<Parameters<StreamTransport['consume']>[0]> = {},
) {
  const seen: { value: string; replay: boolean }[] = [];
  const consumer = await transport.consume({
    groupId,
    topics: ['t'],
    onBatch: async (b: Batch) => void seen.push(...b.records.map((r) => ({ value: r.value.toString(), replay: b.replay === true }))),
    ...extra,
  });
  await waitFor(() => seen.filter((s) => !s.replay).length >= count);
  await consumer.stop();
  return seen;
}

describe('file log across a restart', () => {
  it('keeps every acknowledged record and each group position across a clean stop', async () => {
    const dir = freshLogDir();
    const first = new FileTransport({ dir });
    await first.ensureTopics([{ name: 't', partitions: 3 }]);
    await (await first.producer()).send('t', values(0, 100));
    expect((await read(first, 'g', 100)).length).toBe(100);
    await (await first.producer()).send('t', values(100, 20));
    await first.close();

    const second = new FileTransport({ dir });
    await second.ensureTopics([{ name: 't', partitions: 3 }]);
    // The group goes on from its committed position: exactly the 20 it had not read.
    const after = await read(second, 'g', 20);
    expect(after.map((s) => Number(s.value)).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => 100 + i));
    // A new group from the beginning sees all 120: nothing was dropped with the commits.
    expect((await read(second, 'fresh', 120)).length).toBe(120);
    await second.close();
  });

  it('after a crash (no stop): records written before the kill are there, the group resumes from its last saved position, rebuild replays below it', async () => {
    const dir = freshLogDir();
    const first = new FileTransport({ dir, fsyncIntervalMs: 3_600_000 });
    await first.ensureTopics([{ name: 't', partitions: 1 }]);
    await (await first.producer()).send('t', values(0, 30));
    await read(first, 'g', 30);
    await first.flush(); // positions saved: 30
    await (await first.producer()).send('t', values(30, 10));
    await read(first, 'g', 10); // committed 40, not saved: lost with the "crash"
    await (await first.producer()).send('t', values(40, 5)); // written, never read
    // The process dies: no close, no flush. (The lock names this process, so the next open takes it over.)

    const second = new FileTransport({ dir });
    await second.ensureTopics([{ name: 't', partitions: 1 }]);
    const seen = await read(second, 'g', 15, { rebuildOnAssign: true });
    // Replay [0, 30) uncommitted, then 30..44 again (at-least-once from the saved position), nothing lost.
    expect(seen.filter((s) => s.replay).map((s) => Number(s.value))).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(seen.filter((s) => !s.replay).map((s) => Number(s.value))).toEqual(Array.from({ length: 15 }, (_, i) => 30 + i));
    await second.close();
  });

  it('keeps only the newest records in memory: older ones are read from the files', async () => {
    const transport = new FileTransport({ dir: freshLogDir(), cacheBytes: 1000 });
    await transport.ensureTopics([{ name: 't', partitions: 1 }]);
    const producer = await transport.producer();
    for (let i = 0; i < 100; i++) await producer.send('t', [{ key: 'k', value: Buffer.alloc(100, i) }]);
    const p = transport.topic('t')[0]!;
    // Frames of 133 bytes (8 header, 24 fixed fields, key 1, value 100): at most 1000 bytes of them.
    expect(p.cachedRecords).toBeGreaterThan(0);
    expect(p.cachedRecords).toBeLessThanOrEqual(Math.floor(1000 / 133));
    const { records } = p.read(0, 100, p.end);
    expect(records.map((r) => r.value[0])).toEqual(Array.from({ length: 100 }, (_, i) => i));
    await transport.close();
  });

  it('keeps in memory only what a reading group has yet to read: records every active group committed are let go', async () => {
    const transport = new FileTransport({ dir: freshLogDir() });
    await transport.ensureTopics([{ name: 't', partitions: 1 }]);
    const producer = await transport.producer();
    const p = transport.topic('t')[0]!;
    await producer.send('t', values(0, 10));
    expect(p.cachedRecords).toBe(10); // no group reads yet: kept within the bound
    let slowSeen = 0;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    // The slow group takes its first batch and holds it: its position stays at 0 meanwhile.
    const slow = await transport.consume({
      groupId: 'slow',
      topics: ['t'],
      maxBatchSize: 4,
      onBatch: async (b) => {
        slowSeen += b.records.length;
        if (slowSeen === 4) await held;
      },
    });
    let fastSeen = 0;
    const fast = await transport.consume({ groupId: 'fast', topics: ['t'], onBatch: async (b) => void (fastSeen += b.records.length) });
    await waitFor(() => fastSeen === 10 && slowSeen === 4);
    while ((await fast.lag()).t! > 0) await sleep(5); // fast has committed all 10
    expect(p.cachedRecords).toBe(10); // fast is done, slow has committed nothing yet
    release();
    await waitFor(() => slowSeen === 10 && p.cachedRecords === 0);
    await producer.send('t', values(10, 5));
    await waitFor(() => slowSeen === 15 && p.cachedRecords === 0);
    await fast.stop();
    await slow.stop();
    // Nothing is lost for a reader from the beginning: it reads the files.
    expect((await read(transport, 'fresh', 15)).map((s) => Number(s.value))).toEqual(Array.from({ length: 15 }, (_, i) => i));
    await transport.close();
  });

  it('keeps a send of large records in memory until read: a round of partials at 500,000 nodes (about 2 MB) reads no file', async () => {
    const transport = new FileTransport({ dir: freshLogDir() });
    await transport.ensureTopics([{ name: 't', partitions: 1 }]);
    await (
      await transport.producer()
    ).send(
      't',
      Array.from({ length: 12 }, (_, i) => ({ key: `raw:${i}`, value: Buffer.alloc(200_000, i) })),
    );
    expect(transport.topic('t')[0]!.cachedRecords).toBe(12);
    await transport.close();
  });

  it('forgets a group that has not committed for 7 days', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const dir = freshLogDir();
    const first = new FileTransport({ dir, now: () => now });
    await first.ensureTopics([{ name: 't', partitions: 1 }]);
    await (await first.producer()).send('t', values(0, 3));
    await read(first, 'old', 3);
    await first.close();
    now += 6 * 86_400_000;
    const second = new FileTransport({ dir, now: () => now });
    await second.ensureTopics([{ name: 't', partitions: 1 }]);
    await (await second.producer()).send('t', values(3, 1));
    expect((await read(second, 'old', 1)).map((s) => s.value)).toEqual(['3']); // 6 days: still there, resumes
    await second.close();
    now += 7 * 86_400_000 + 1;
    const third = new FileTransport({ dir, now: () => now });
    await third.ensureTopics([{ name: 't', partitions: 1 }]);
    expect((await read(third, 'old', 4)).length).toBe(4); // forgotten: from the beginning again
    await third.close();
  });

  it('refuses a second process on the same directory, naming it', async () => {
    const dir = freshLogDir();
    const { writeFileSync } = await import('node:fs');
    // A live process that is not us holds the lock (our parent, say).
    writeFileSync(`${dir}/lock`, String(process.ppid));
    expect(() => new FileTransport({ dir })).toThrow(`the log in ${dir} is in use by process ${process.ppid}`);
  });
});
