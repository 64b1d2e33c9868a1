import { describe, expect, it } from 'vitest';
import { freshStateDir } from '../../../test/helpers.js';
import { streamContract } from '../contract.js';
import { NODE_IO, type SegmentIo } from './segment.js';
import { FileTransport, type FileTransportOptions } from './transport.js';

let n = 0;
const fresh = (options: Partial<FileTransportOptions>) => async () => ({
  transport: new FileTransport({ dir: freshStateDir(), retryDelayMs: 10, ...options }),
  prefix: `t${++n}`,
});
streamContract('file', fresh({}), { retainsCommitted: true });
// No record cache and tiny segments: every read seeks through the index into the files, across segments.
streamContract('file, read from the segment files', fresh({ cacheBytes: 0, segmentBytes: 512 }), { retainsCommitted: true });

describe('file log writes', () => {
  it('writes the sends of one turn of the event loop with one write per partition, each send resolved once written', async () => {
    const writes: number[] = [];
    const io: SegmentIo = {
      datasync: NODE_IO.datasync,
      write: (fd, buffer, offset, length) => (writes.push(length), NODE_IO.write(fd, buffer, offset, length)),
    };
    const transport = new FileTransport({ dir: freshStateDir(), io });
    await transport.ensureTopics([{ name: 't', partitions: 2 }]);
    const producer = await transport.producer();
    // 40 publishes arriving together, as from many MQTT clients at once; keys on both partitions.
    const sends = Array.from({ length: 40 }, (_, i) => producer.send('t', [{ key: `node-${i}`, value: Buffer.from(String(i)) }]));
    await Promise.all(sends);
    expect(writes).toHaveLength(2);
    const [p0, p1] = transport.topic('t');
    expect(p0!.end + p1!.end).toBe(40);
    await producer.send('t', [{ key: 'node-0', value: Buffer.from('later') }]);
    expect(writes).toHaveLength(3); // a later turn: a write of its own
    await transport.close();
  });
});
