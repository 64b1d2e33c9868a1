import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeLength } from '../../test/mqtt-raw.js';
import { guardSubscribeFilters } from './subscribe-guard.js';

const frame = (first: number, body: Buffer) => Buffer.concat([Buffer.from([first]), encodeLength(body.length), body]);
const str = (s: string) => Buffer.concat([Buffer.from([0, Buffer.byteLength(s)]), Buffer.from(s)]);
const connect5 = () => frame(0x10, Buffer.concat([str('MQTT'), Buffer.from([5, 2, 0, 60, 0]), str('dev')]));
const connect311 = () => frame(0x10, Buffer.concat([str('MQTT'), Buffer.from([4, 2, 0, 60]), str('dev')]));
const subscribe = (n: number, props?: Buffer) =>
  frame(
    0x82,
    Buffer.concat([
      Buffer.from([0, 1]),
      ...(props ? [encodeLength(props.length), props] : []),
      ...Array.from({ length: n }, (_, i) => Buffer.concat([str(`city/+/+/dev/${i}`), Buffer.from([1])])),
    ]),
  );
const publish = () => frame(0x30, Buffer.concat([str('city/a/b/dev/telemetry'), Buffer.from('{}')]));

/** Sends `bytes` (in small pieces: state must carry across reads) and returns what the parser would see, and whether the guard bit. */
async function through(bytes: Buffer, max: number): Promise<{ passed: Buffer; bit: number | undefined }> {
  let bit: number | undefined;
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve) => {
    server.once('connection', (socket: Socket) => {
      guardSubscribeFilters(socket, max, (n) => (bit = n));
      socket.on('readable', () => {
        for (let c = socket.read() as Buffer | null; c; c = socket.read() as Buffer | null) chunks.push(c);
      });
      socket.on('close', () => resolve());
      socket.on('end', () => socket.end());
    });
  });
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  client.on('error', () => undefined);
  for (let i = 0; i < bytes.length; i += 7) client.write(bytes.subarray(i, i + 7));
  client.end();
  await done;
  return { passed: Buffer.concat(chunks), bit };
}

const server = createServer();
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
afterEach(() => server.removeAllListeners('connection'));

describe('guardSubscribeFilters', () => {
  it('passes SUBSCRIBEs up to the limit (MQTT 3.1.1 and 5 with properties) and everything around them', async () => {
    const v311 = Buffer.concat([connect311(), subscribe(3), publish(), subscribe(3)]);
    expect(await through(v311, 3)).toEqual({ passed: v311, bit: undefined });
    const v5 = Buffer.concat([connect5(), subscribe(3, Buffer.from([0x0b, 42, 0x26, 0, 1, 0x61, 0, 1, 0x62])), publish()]);
    expect(await through(v5, 3)).toEqual({ passed: v5, bit: undefined });
  });

  it('withholds a SUBSCRIBE over the limit from the parser and closes the connection', async () => {
    const before = Buffer.concat([connect311(), subscribe(2)]);
    const result = await through(Buffer.concat([before, subscribe(10_000)]), 100);
    expect(result.bit).toBe(101);
    expect(result.passed.subarray(0, before.length)).toEqual(before);
    // The offending packet never arrives whole.
    expect(result.passed.length).toBeLessThan(before.length + subscribe(10_000).length);
    const v5 = await through(Buffer.concat([connect5(), subscribe(4, Buffer.from([0x0b, 42]))]), 3);
    expect(v5.bit).toBe(4);
  });
});
