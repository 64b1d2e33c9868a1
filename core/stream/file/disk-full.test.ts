import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freshStateDir } from '../../../test/helpers.js';
import { fillDisk, smallDisk } from '../../../test/small-disk.js';
import { NODE_IO, type SegmentIo } from './segment.js';
import { FileTransport } from './transport.js';

/** A write that fails as a full disk does: `room` more bytes fit, the write that would pass them writes what fits, the next fails ENOSPC. */
function fillingIo(room: { bytes: number }): SegmentIo {
  return {
    datasync: NODE_IO.datasync,
    write(fd, buffer, offset, length) {
      if (room.bytes <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 });
      const n = Math.min(length, room.bytes);
      room.bytes -= n;
      return NODE_IO.write(fd, buffer, offset, n);
    },
  };
}

const reading = (i: number) => ({ key: `node-${i % 3}`, value: Buffer.from(JSON.stringify({ i, pad: 'x'.repeat(200) })) });

/**
 * Sends readings one by one through a disk that fills up, then gets room again: refused sends
 * reject (the caller, ingest, refuses the publish unacknowledged), each is counted, nothing of a
 * refused send is in the log (no torn record either), and once there is room the same readings go in.
 */
async function fullDiskCase(dir: string, io: SegmentIo | undefined, makeRoom: () => void) {
  const failures: string[] = [];
  const transport = new FileTransport({ dir, ...(io ? { io } : {}), onAppendFailed: (e) => failures.push(e.code ?? '?') });
  await transport.ensureTopics([{ name: 't', partitions: 1 }]);
  const producer = await transport.producer();
  const acked: number[] = [];
  let refused = 0;
  for (let i = 0; refused < 5; i++) {
    if (i > 100_000) throw new Error('the disk never filled');
    try {
      await producer.send('t', [reading(i)]);
      acked.push(i);
    } catch (error) {
      expect((error as Error).message).toMatch(/append to t\/0 failed: ENOSPC/);
      refused++;
    }
  }
  expect(failures).toEqual(['ENOSPC', 'ENOSPC', 'ENOSPC', 'ENOSPC', 'ENOSPC']);
  const p = transport.topic('t')[0]!;
  expect(p.end).toBe(acked.length);
  // Room again: the devices' resends go in, after what was acknowledged.
  makeRoom();
  const resent = Array.from({ length: 5 }, (_, k) => acked.length + k);
  for (const i of resent) await producer.send('t', [reading(i)]);
  await transport.close();

  const reopened = new FileTransport({ dir, onRecovered: (d) => expect.fail(`recovery found damage: ${JSON.stringify(d)}`) });
  await reopened.ensureTopics([{ name: 't', partitions: 1 }]);
  const q = reopened.topic('t')[0]!;
  const { records } = q.read(0, 100_000, q.end);
  expect(records.map((r) => (JSON.parse(r.value.toString()) as { i: number }).i)).toEqual([...acked, ...resent]);
  await reopened.close();
}

describe('file log on a full disk', () => {
  it('refuses a send whose write fails ENOSPC (cut back even after a partial write), counts it, and takes sends again once there is room', async () => {
    const room = { bytes: 20_000 };
    await fullDiskCase(freshStateDir(), fillingIo(room), () => (room.bytes = Infinity));
  });

  // A real full file system: a small tmpfs (mounting needs root; without it the injected case above stands alone).
  const disk = smallDisk('1m');
  afterAll(() => disk.unmount());

  it.skipIf(disk.path === undefined)(
    'does the same on a real full file system (a 1 MiB tmpfs filled up, then the filler deleted)',
    async () => {
      const dir = join(disk.path!, 'log');
      let filler = '';
      const io: SegmentIo = {
        datasync: NODE_IO.datasync,
        // The disk fills up once the log holds something: fill on the 10th write.
        write: (() => {
          let writes = 0;
          return (fd, buffer, offset, length) => {
            if (++writes === 10) filler = fillDisk(disk.path!);
            return NODE_IO.write(fd, buffer, offset, length);
          };
        })(),
      };
      await fullDiskCase(dir, io, () => rmSync(filler));
    },
  );
});
