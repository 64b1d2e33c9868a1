import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { freshStateDir } from '../../../test/helpers.js';
import { NODE_IO, type SegmentIo } from './segment.js';
import { FileTransport } from './transport.js';

/** An fdatasync that waits until the test lets it finish, and counts its calls. */
function gatedSync() {
  let open!: () => void;
  let gate = new Promise<void>((resolve) => (open = resolve));
  const state = { calls: 0 };
  const io: SegmentIo = {
    write: NODE_IO.write,
    datasync: async (fd) => {
      state.calls++;
      await gate;
      await NODE_IO.datasync(fd);
    },
  };
  return {
    io,
    state,
    release: () => {
      open();
      gate = new Promise<void>((resolve) => (open = resolve));
    },
  };
}

const message = { key: 'k', value: Buffer.from('reading') };

describe('file log flush policy (LOG_FSYNC)', () => {
  it('always: a send resolves only after the fdatasync of what it wrote', async () => {
    const sync = gatedSync();
    const transport = new FileTransport({ dir: freshStateDir(), fsync: 'always', fsyncIntervalMs: 3_600_000, io: sync.io });
    await transport.ensureTopics([{ name: 't', partitions: 1 }]);
    let resolved = false;
    const sending = (await transport.producer()).send('t', [message]).then(() => (resolved = true));
    await sleep(50);
    expect(sync.state.calls).toBe(1);
    expect(resolved).toBe(false); // written, not yet durable: not acknowledged
    sync.release();
    await sending;
    expect(resolved).toBe(true);
    await transport.close();
  });

  it('interval: a send resolves once written, and the timer makes it durable within the interval', async () => {
    const sync = {
      state: { calls: 0 },
      io: { write: NODE_IO.write, datasync: (fd: number) => (sync.state.calls++, NODE_IO.datasync(fd)) },
    };
    const transport = new FileTransport({ dir: freshStateDir(), fsync: 'interval', fsyncIntervalMs: 100, io: sync.io });
    await transport.ensureTopics([{ name: 't', partitions: 1 }]);
    const calls = sync.state.calls;
    const synced = new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (sync.state.calls > calls) {
          clearInterval(check);
          resolve();
        }
      }, 5);
    });
    await (await transport.producer()).send('t', [message]);
    expect(sync.state.calls).toBe(calls); // acknowledged before any fdatasync
    await synced; // the interval's flush syncs it
    await transport.close();
  });
});

describe('file log group commit', () => {
  it('writes the appends that arrive during a write together in the next write, in their order', async () => {
    const writes: number[] = [];
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const io: SegmentIo = {
      datasync: NODE_IO.datasync,
      write: async (fd, buffer, offset, length) => {
        writes.push(length);
        if (writes.length === 1) await gate; // the first write is slow
        return NODE_IO.write(fd, buffer, offset, length);
      },
    };
    const transport = new FileTransport({ dir: freshStateDir(), io });
    await transport.ensureTopics([{ name: 't', partitions: 1 }]);
    const producer = await transport.producer();
    const value = (i: number) => ({ key: 'k', value: Buffer.from(`reading-${i}`) });
    const first = producer.send('t', [value(0)]);
    await sleep(20);
    const more = [1, 2, 3].map((i) => producer.send('t', [value(i)]));
    await sleep(20);
    expect(writes).toHaveLength(1); // the others wait for the first write
    open();
    await Promise.all([first, ...more]);
    expect(writes).toHaveLength(2);
    expect(writes[1]).toBe(3 * writes[0]!); // three frames of the same size in one write
    const p = transport.topic('t')[0]!;
    expect(p.read(0, 10, p.end).records.map((r) => r.value.toString())).toEqual([0, 1, 2, 3].map((i) => `reading-${i}`));
    await transport.close();
  });
});
