import type { AedesPublishPacket, Client } from 'aedes';
import { describe, expect, it } from 'vitest';
import { SubscriptionLedger } from './session-limits.js';
import { SessionStore } from './session-store.js';

const message = (n: number, bytes = 10): AedesPublishPacket => ({
  cmd: 'publish',
  brokerId: 'b',
  brokerCounter: n,
  topic: 't',
  payload: Buffer.alloc(bytes - 1, n),
  qos: 1,
  retain: false,
  dup: false,
});

async function drain(store: SessionStore, id: string): Promise<number[]> {
  const out: number[] = [];
  for await (const p of store.outgoingStream({ id } as Client)) out.push((p as AedesPublishPacket).brokerCounter);
  return out;
}

describe('SessionStore', () => {
  it('bounds a session queue by count and by bytes, dropping the oldest and counting them', async () => {
    const dropped: string[] = [];
    const store = new SessionStore({
      ledger: new SubscriptionLedger({ maxFilters: 10 }),
      limits: { maxMessages: 3, maxBytes: 45 },
      dropped: (cause, n) => dropped.push(...Array(n).fill(cause)),
    });
    for (let n = 1; n <= 5; n++) await store.outgoingEnqueueCombi([{ clientId: 'x' }], message(n));
    expect(await drain(store, 'x')).toEqual([3, 4, 5]);
    expect(dropped).toEqual(['count', 'count']);
    await store.outgoingEnqueue({ clientId: 'x' }, message(6, 30));
    expect(await drain(store, 'x')).toEqual([5, 6]);
    expect(store.queued('x')).toEqual({ messages: 2, bytes: 40 });
    await store.outgoingEnqueue({ clientId: 'x' }, message(7, 100));
    expect(await drain(store, 'x')).toEqual([5, 6]);
    expect(dropped).toEqual(['count', 'count', 'count', 'bytes', 'bytes']);
  });

  it('a message dropped while in flight is still sent and its PUBACK is harmless', async () => {
    const store = new SessionStore({
      ledger: new SubscriptionLedger({ maxFilters: 10 }),
      limits: { maxMessages: 1, maxBytes: 1000 },
      dropped: () => undefined,
    });
    const client = { id: 'x' } as Client;
    await store.outgoingEnqueue({ clientId: 'x' }, message(1));
    await store.outgoingEnqueue({ clientId: 'x' }, message(2));
    await expect(store.outgoingUpdate(client, { ...message(1), messageId: 7 })).resolves.toBeUndefined();
    await expect(store.outgoingClearMessageId(client, { messageId: 7 })).resolves.toBeUndefined();
    await store.outgoingUpdate(client, { ...message(2), messageId: 8 });
    expect((await store.outgoingClearMessageId(client, { messageId: 8 }))?.brokerCounter).toBe(2);
    expect(store.queued('x')).toEqual({ messages: 0, bytes: 0 });
  });
});
