import { describe, expect, it } from 'vitest';
import { seededRandom } from '../core/random.js';
import type { PartitionPartial } from './partial.js';
import { deltaKey, FULL_PARTIAL_EVERY_MS, PartialEncoder, PartialStore } from './partial-delta.js';

const SOURCE = 'telemetry.raw:3';
const asJson = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** Lots no test changes: they make a whole partial large enough that small changes go as deltas. */
const QUIET = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`QUIET-${i}`, [i, 50 - i]]));

/** A partial shaped like the real ones: keyed lots, rows, optional members, conditions. */
function partialAt(at: number, lots: Record<string, [number, number]>, extra: Partial<PartitionPartial> = {}): PartitionPartial {
  return {
    source: SOURCE,
    at,
    since: 0,
    eventTime: true,
    kinds: {
      parking: { lots: { ...QUIET, ...lots } },
      noise: { hour: 0, stations: [{ nodeId: 'NS-1', leq: 55.5, exceeds: false }] },
      streetlight: { groups: { 'Lixia|main': { lit: 3, expected: 4, unknown: 1 } }, circuitsUnknown: undefined, onInDaytime: 0 },
    },
    health: { tallies: {}, silent: {} },
    conditions: [],
    ...extra,
  };
}

function setup() {
  let now = 1_000_000;
  const encoder = new PartialEncoder(() => now);
  return { encoder, store: new PartialStore(), advance: (ms: number) => (now += ms) };
}

const parsed = (record: { value: Buffer }) => JSON.parse(record.value.toString()) as unknown;
const held = (store: PartialStore) => [...store.values()].map(({ epoch: _e, seq: _s, ...p }) => p);

describe('partials as changes (metrics.partials)', () => {
  it('a reader applying every record holds exactly the JSON of the latest partial, mostly from deltas', () => {
    const { encoder, store, advance } = setup();
    const random = seededRandom(7);
    const lots: Record<string, [number, number]> = {};
    for (let i = 0; i < 400; i++) lots[`LOT-${i}`] = [0, 20];
    let deltas = 0;
    let deltaBytes = 0;
    let wholeBytes = 0;
    for (let round = 0; round < 60; round++) {
      // A few lots change, one comes and one goes; a condition now and then; an optional member set and unset.
      for (let k = 0; k < 5; k++) {
        const id = `LOT-${Math.floor(random() * 400)}`;
        const [occ, free] = lots[id] ?? [0, 20];
        lots[id] = [occ + 1, free - 1];
      }
      lots[`LOT-NEW-${round}`] = [1, 1];
      delete lots[`LOT-NEW-${round - 1}`];
      const conditions =
        round % 7 === 0 ? [{ alertname: 'ParkingDetectorSilent', severity: 'minor', labels: { node: `P-${round}` }, summary: 's' }] : [];
      const partial = partialAt(1_000 * round, lots, { conditions: conditions as PartitionPartial['conditions'] });
      if (round % 3 === 0) (partial.kinds!.streetlight as { circuitsUnknown?: number[] }).circuitsUnknown = [round, 1];
      const record = encoder.encode(partial);
      const taken = store.take(parsed(record));
      expect(taken).toBe(record.key === deltaKey(SOURCE) ? 'delta' : 'whole');
      if (taken === 'delta') [deltas, deltaBytes] = [deltas + 1, deltaBytes + record.value.length];
      else wholeBytes = record.value.length;
      expect(held(store)).toEqual([asJson(partial)]);
      advance(200);
    }
    // 60 rounds 200 ms apart: whole at 0 ms and 10 s (FULL_PARTIAL_EVERY_MS), deltas in between.
    expect(deltas).toBe(58);
    expect(deltaBytes / deltas).toBeLessThan(wholeBytes / 10);
  });

  it('sends a partial whole again every FULL_PARTIAL_EVERY_MS, and first after its source was given up', () => {
    const { encoder, advance } = setup();
    const lots = { A: [1, 1] as [number, number] };
    expect(encoder.encode(partialAt(0, lots)).key).toBe(SOURCE);
    advance(FULL_PARTIAL_EVERY_MS - 1);
    expect(encoder.encode(partialAt(1, lots)).key).toBe(deltaKey(SOURCE));
    advance(1);
    expect(encoder.encode(partialAt(2, lots)).key).toBe(SOURCE);
    expect(encoder.encode(partialAt(3, lots)).key).toBe(deltaKey(SOURCE));
    encoder.forget(SOURCE);
    expect(encoder.encode(partialAt(4, lots)).key).toBe(SOURCE);
  });

  it('sends partials whole when told to (a stage behind keeps to the beat), then deltas again from a whole one', () => {
    const { encoder, store, advance } = setup();
    const send = (i: number, deltas: boolean) => {
      const record = encoder.encode(partialAt(i, { A: [i, 1] }), deltas);
      expect(store.take(parsed(record))).not.toMatch(/skipped|broken/);
      return record.key;
    };
    expect([send(0, true), send(1, true)]).toEqual([SOURCE, deltaKey(SOURCE)]);
    for (let i = 2; i < 5; i++, advance(200)) expect(send(i, false)).toBe(SOURCE);
    // Nothing kept from the whole rounds: the first round of deltas again is whole.
    expect([send(5, true), send(6, true)]).toEqual([SOURCE, deltaKey(SOURCE)]);
    expect(held(store)).toEqual([asJson(partialAt(6, { A: [6, 1] }))]);
  });

  it('sends it whole when the changes would be half as large', () => {
    const { encoder } = setup();
    encoder.encode(partialAt(0, { A: [1, 1], B: [1, 1] }));
    const changed = Object.fromEntries(Object.keys(QUIET).map((id) => [id, [0, 0]]));
    expect(encoder.encode({ ...partialAt(1, {}), kinds: { parking: { lots: changed } } }).key).toBe(SOURCE);
  });

  it('diffs against what it sent, not against objects the processors reuse and change in place', () => {
    const { encoder, store } = setup();
    const partial = partialAt(0, { A: [1, 1] });
    store.take(parsed(encoder.encode(partial)));
    // A processor that kept its section and changed it: the next partial is the same object.
    const lots = (partial.kinds!.parking as { lots: Record<string, number[]> }).lots;
    lots.A = [2, 0];
    partial.at = 1;
    expect(store.take(parsed(encoder.encode(partial)))).toBe('delta');
    expect(held(store)).toEqual([asJson(partial)]);
    // ... and changed again the array it had just sent.
    lots.A[0] = 3;
    expect(store.take(parsed(encoder.encode(partial)))).toBe('delta');
    expect(held(store)).toEqual([asJson(partial)]);
  });

  it('a reader that starts on the compacted topic keeps the whole partial until the next one, never half a chain', () => {
    const { encoder, advance } = setup();
    const records = [0, 1, 2, 3].map((i) => encoder.encode(partialAt(i, { A: [i, 10 - i] })));
    // Compaction kept the whole partial (at 0) and the latest delta (3 on top of 2).
    const store = new PartialStore();
    expect(store.take(parsed(records[0]!))).toBe('whole');
    expect(store.take(parsed(records[3]!))).toBe('skipped');
    expect(held(store)).toEqual([asJson(partialAt(0, { A: [0, 10] }))]);
    expect(store.take(parsed(encoder.encode(partialAt(4, { A: [4, 6] }))))).toBe('skipped');
    advance(FULL_PARTIAL_EVERY_MS);
    expect(store.take(parsed(encoder.encode(partialAt(5, { A: [5, 5] }))))).toBe('whole');
    expect(store.take(parsed(encoder.encode(partialAt(6, { A: [6, 4] }))))).toBe('delta');
    expect(held(store)).toEqual([asJson(partialAt(6, { A: [6, 4] }))]);
  });

  it("skips a former owner's delta after the new owner's whole partial, and deltas on a record without epoch", () => {
    const old = setup();
    const now = setup();
    const store = new PartialStore();
    store.take(parsed(old.encoder.encode(partialAt(0, { A: [1, 1] }))));
    const late = old.encoder.encode(partialAt(1, { A: [2, 0] }));
    expect(store.take(parsed(now.encoder.encode(partialAt(2, { A: [0, 2] }))))).toBe('whole');
    expect(store.take(parsed(late))).toBe('skipped');
    expect(held(store)).toEqual([asJson(partialAt(2, { A: [0, 2] }))]);
    // A partial written before deltas existed is whole; no delta applies to it.
    const legacy = new PartialStore();
    expect(legacy.take(asJson(partialAt(0, { A: [1, 1] })))).toBe('whole');
    expect(legacy.take(parsed(late))).toBe('skipped');
  });

  it('names what is not a partial', () => {
    const store = new PartialStore();
    expect(store.take(undefined)).toBe('unreadable');
    expect(store.take({ at: 1 })).toBe('unreadable');
    expect([...store.values()]).toEqual([]);
  });
});
