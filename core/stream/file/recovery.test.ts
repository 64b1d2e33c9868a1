import { readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freshStateDir, waitFor } from '../../../test/helpers.js';
import type { PartitionDamage } from './partition.js';
import { FileTransport } from './transport.js';

const TOPIC = { name: 't', partitions: 1 };

/** A log of `count` records `0..count-1` in one partition (segments of `segmentBytes`), closed cleanly. */
async function writeLog(count: number, segmentBytes?: number): Promise<string> {
  const dir = freshStateDir();
  const transport = new FileTransport({ dir, ...(segmentBytes ? { segmentBytes } : {}) });
  await transport.ensureTopics([TOPIC]);
  const producer = await transport.producer();
  for (let i = 0; i < count; i++) await producer.send('t', [{ key: 'k', value: Buffer.from(`reading-${i}`) }]);
  await transport.close();
  return dir;
}

const segments = (dir: string) =>
  readdirSync(join(dir, 't', '0'))
    .filter((f) => f.endsWith('.log'))
    .sort()
    .map((f) => join(dir, 't', '0', f));

/** Byte position of each record in a segment file (walking the length fields). */
function recordPositions(file: string): number[] {
  const bytes = readFileSync(file);
  const out: number[] = [];
  for (let p = 0; p < bytes.length; p += 8 + bytes.readUInt32LE(p)) out.push(p);
  return out;
}

/** Opens the log again; returns what recovery reported (and how often) and every record left, in order. */
async function reopen(dir: string) {
  const reports: PartitionDamage[][] = [];
  const transport = new FileTransport({ dir, onRecovered: (d) => reports.push(d) });
  await transport.ensureTopics([TOPIC]);
  const p = transport.topic('t')[0]!;
  const values: string[] = [];
  for (let from = p.base; from < p.end;) {
    const { records, next } = p.read(from, 1000, p.end);
    values.push(...records.map((r) => r.value.toString()));
    from = next;
  }
  return { transport, reports, values, end: p.end };
}

const readings = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `reading-${from + i}`);

describe('file log recovery at start', () => {
  it('cuts a segment torn in the middle of a record at the last whole record, reports it once, keeps everything before', async () => {
    const dir = await writeLog(50);
    const [file] = segments(dir);
    const at = recordPositions(file!)[40]!;
    const size = readFileSync(file!).length;
    truncateSync(file!, at + 11); // a write cut short inside record 40
    const { transport, reports, values, end } = await reopen(dir);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toEqual([expect.objectContaining({ topic: 't', partition: 0, reason: 'torn', position: at, droppedBytes: 11 })]);
    expect(values).toEqual(readings(0, 40));
    expect(end).toBe(40);
    expect(readFileSync(file!).length).toBe(at);
    expect(size).toBeGreaterThan(at + 11);
    // Appends go on at the cut: the next record is offset 40, and the log opens clean afterwards.
    await (await transport.producer()).send('t', [{ key: 'k', value: Buffer.from('after') }]);
    await transport.close();
    const again = await reopen(dir);
    expect(again.reports).toEqual([]);
    expect(again.values).toEqual([...readings(0, 40), 'after']);
    await again.transport.close();
  });

  it('drops a record with a flipped byte and the rest of its segment, keeps every record before it and the later segments', async () => {
    const dir = await writeLog(60, 600);
    const files = segments(dir);
    expect(files.length).toBeGreaterThan(2);
    const file = files[0]!;
    const positions = recordPositions(file);
    const bytes = readFileSync(file);
    const damaged = 3;
    const flip = positions[damaged]! + 36;
    bytes[flip] = bytes[flip]! ^ 0x01; // one bit of record 3's value (frame header 8, fixed fields 24, key 1)
    writeFileSync(file, bytes);
    const { transport, reports, values, end } = await reopen(dir);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toEqual([
      expect.objectContaining({
        reason: 'checksum',
        position: positions[damaged],
        droppedBytes: bytes.length - positions[damaged]!,
        segment: file,
      }),
    ]);
    const lost = readings(damaged, positions.length); // the damaged record and the rest of its segment
    expect(values).toEqual(readings(0, 60).filter((v) => !lost.includes(v)));
    expect(end).toBe(60);
    await transport.close();
  });

  it('opens a log whose every byte is damaged without failing (never a crash loop); a group whose position lay in the lost tail gets what comes next', async () => {
    const dir = await writeLog(5);
    const reader = new FileTransport({ dir });
    await reader.ensureTopics([TOPIC]);
    const readAll = async (transport: FileTransport, count: number) => {
      const seen: string[] = [];
      const c = await transport.consume({
        groupId: 'g',
        topics: ['t'],
        onBatch: async (b) => void seen.push(...b.records.map((r) => r.value.toString())),
      });
      await waitFor(() => seen.length >= count);
      await c.stop();
      return seen;
    };
    await readAll(reader, 5); // the group's position: 5
    await reader.close();
    const [file] = segments(dir);
    writeFileSync(file!, Buffer.alloc(200, 0xff));
    const { transport, reports, values } = await reopen(dir);
    expect(reports[0]).toEqual([expect.objectContaining({ reason: 'checksum', position: 0, droppedBytes: 200 })]);
    expect(values).toEqual([]);
    await (await transport.producer()).send('t', [{ key: 'k', value: Buffer.from('fresh') }]);
    expect(await readAll(transport, 1)).toEqual(['fresh']);
    await transport.close();
    expect((await reopen(dir)).values).toEqual(['fresh']);
  });
});
