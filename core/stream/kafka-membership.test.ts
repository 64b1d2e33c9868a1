import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeClaim, encodeClaim, Membership, memberTimings } from './kafka-membership.js';
import { stickyAssigner } from './platformatic/sticky-assigner.js';
import type { ConsumerOptions } from './types.js';

// What both Kafka clients' members share, without a broker (the contract and Kafka suites run it against one).
const options: ConsumerOptions = { groupId: 'g', topics: ['t'], onBatch: async () => {} };
const tp = (partition: number) => ({ topic: 't', partition });

afterEach(() => {
  vi.useRealTimers();
});

describe('Kafka group member, shared', () => {
  it('a member session timeout of its own, with heartbeats often enough for it', () => {
    const transport = { sessionTimeoutMs: 30_000, heartbeatIntervalMs: 3000 };
    expect(memberTimings({}, transport)).toEqual(transport);
    expect(memberTimings({ sessionTimeoutMs: 10_000 }, transport)).toEqual({ sessionTimeoutMs: 10_000, heartbeatIntervalMs: 2000 });
    expect(memberTimings({ sessionTimeoutMs: 60_000 }, transport)).toEqual({ sessionTimeoutMs: 60_000, heartbeatIntervalMs: 3000 });
  });

  it("a member's consumer options over their defaults; a batch holds at least one record", () => {
    const timings = { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 2000 };
    const defaults = new Membership(options, () => {}, 10, timings);
    expect([defaults.fromBeginning, defaults.maxBatchSize]).toEqual([true, 1000]);
    const own = new Membership({ ...options, fromBeginning: false, maxBatchSize: 0 }, () => {}, 10, timings);
    expect([own.fromBeginning, own.maxBatchSize]).toEqual([false, 1]);
  });

  it('holds() only what is assigned, and only within the session timeout less a heartbeat interval of the last answer', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const group = new Membership(options, () => {}, 10, { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 2000 });
    group.assign([tp(0)]);
    await group.joinedWithin(1000);
    expect(group.holds(tp(0))).toBe(false); // never heard from the group
    group.heard();
    expect(group.holds(tp(0))).toBe(true);
    expect(group.holds(tp(1))).toBe(false);
    expect(group.held()).toEqual([tp(0)]);
    vi.advanceTimersByTime(7999);
    expect(group.holds(tp(0))).toBe(true);
    vi.advanceTimersByTime(1);
    // The group may hand it on 2 s later: no longer certain, and not claimed in a sticky rebalance.
    expect(group.holds(tp(0))).toBe(false);
    expect(group.held()).toEqual([]);
    group.heard();
    expect(group.holds(tp(0))).toBe(true);
    void group.stop(
      async () => {},
      () => {},
    );
    expect(group.holds(tp(0))).toBe(false);
  });

  it('a sticky claim survives encoding; one that cannot be read claims nothing', () => {
    expect(decodeClaim(encodeClaim([tp(0), tp(2)]))).toEqual([tp(0), tp(2)]);
    expect(decodeClaim(undefined)).toEqual([]);
    expect(decodeClaim(Buffer.alloc(0))).toEqual([]);
    expect(decodeClaim(Buffer.from('{not json'))).toEqual([]);
    expect(decodeClaim(Buffer.from(JSON.stringify([{ topic: 't', partition: 'x' }, tp(1), 7])))).toEqual([tp(1)]);
  });

  it("@platformatic/kafka's sticky assigner keeps claimed partitions and shares out the rest", () => {
    const metadata = { topics: new Map([['t', { partitionsCount: 3 }]]) } as unknown as Parameters<typeof stickyAssigner>[3];
    const members = new Map([
      ['a', { memberId: 'a', version: 0, metadata: encodeClaim([tp(0), tp(1), tp(2)]) }],
      ['b', { memberId: 'b', version: 0, metadata: encodeClaim([]) }],
    ]);
    const partitionsOf = (result: ReturnType<typeof stickyAssigner>) =>
      Object.fromEntries(result.map((m) => [m.memberId, [...m.assignments.values()].flatMap((a) => a.partitions)]));
    // b joined: a keeps all three.
    expect(partitionsOf(stickyAssigner('a', members, new Set(['t']), metadata))).toEqual({ a: [0, 1, 2], b: [] });
    // a claims only 1 (it was not sure of the others): 0 goes to b (the fewest), 2 to a (a tie: the member listed first).
    members.get('a')!.metadata = encodeClaim([tp(1)]);
    expect(partitionsOf(stickyAssigner('a', members, new Set(['t']), metadata))).toEqual({ a: [1, 2], b: [0] });
  });
});
