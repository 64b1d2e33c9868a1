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
