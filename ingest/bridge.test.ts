import { describe, expect, it } from 'vitest';
import type { OutgoingMessage, Producer } from '../core/index.js';
import { LogAppender } from './bridge.js';

/** A producer whose sends complete when the test says. */
function heldProducer() {
  const sends: { topic: string; keys: (string | null)[]; done: (error?: Error) => void }[] = [];
  const producer: Producer = {
    send: (topic: string, messages: OutgoingMessage[]) =>
      new Promise<void>((resolve, reject) =>
        sends.push({ topic, keys: messages.map((m) => m.key), done: (e) => (e ? reject(e) : resolve()) }),
      ),
  };
  return { producer, sends };
}
const msg = (key: string): OutgoingMessage => ({ key, value: Buffer.from(key) });
const tick = () => new Promise((r) => setImmediate(r));

describe('LogAppender', () => {
  it('sends the appends that arrive while a send is in flight as one next send, in arrival order', async () => {
    const { producer, sends } = heldProducer();
    const log = new LogAppender(producer, 'telemetry.raw');
    const settled: string[] = [];
    const a = log.append([msg('a1'), msg('a2')]).then(() => settled.push('a'));
    const b = log.append([msg('b1')]).then(() => settled.push('b'));
    const c = log.append([msg('c1'), msg('c2')]).then(() => settled.push('c'));
    await tick();
    expect(sends.map((s) => s.keys)).toEqual([['a1', 'a2']]);
    sends[0]!.done();
    await a;
    await tick();
    // b and c waited together: one send, b's records first.
    expect(sends.map((s) => s.keys)).toEqual([
      ['a1', 'a2'],
      ['b1', 'c1', 'c2'],
    ]);
    expect(settled).toEqual(['a']);
    sends[1]!.done();
    await Promise.all([b, c]);
    expect(settled).toEqual(['a', 'b', 'c']);
    expect(sends.every((s) => s.topic === 'telemetry.raw')).toBe(true);
  });

  it('a send carries at most maxSendBytes of whole publishes; a larger single publish goes alone', async () => {
    const { producer, sends } = heldProducer();
    const log = new LogAppender(producer, 'telemetry.raw', 6);
    const big = (key: string, n: number): OutgoingMessage => ({ key, value: Buffer.alloc(n) });
    const all = [
      log.append([big('a', 1)]),
      log.append([big('b', 3), big('c', 2)]),
      log.append([big('d', 2)]),
      log.append([big('e', 9)]),
      log.append([big('f', 1)]),
    ];
    for (let i = 0; i < 5; i++) {
      await tick();
      sends[i]!.done();
    }
    await Promise.all(all);
    // a goes at once; then b+c (5 bytes, d would make 7); d alone (e would exceed); e alone (over the limit by itself); f.
    expect(sends.map((s) => s.keys)).toEqual([['a'], ['b', 'c'], ['d'], ['e'], ['f']]);
  });

  it('a failed send fails every publish in it (none acknowledged), and the next appends still go out', async () => {
    const { producer, sends } = heldProducer();
    const log = new LogAppender(producer, 'telemetry.raw');
    const first = log.append([msg('x')]);
    await tick();
    const second = log.append([msg('y')]);
    const third = log.append([msg('z')]);
    sends[0]!.done();
    await first;
    await tick();
    sends[1]!.done(new Error('broker away'));
    await expect(second).rejects.toThrow('broker away');
    await expect(third).rejects.toThrow('broker away');
    const fourth = log.append([msg('w')]);
    await tick();
    expect(sends[2]!.keys).toEqual(['w']);
    sends[2]!.done();
    await fourth;
  });
});
