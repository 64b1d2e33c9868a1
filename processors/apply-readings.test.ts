import { describe, expect, it, vi } from 'vitest';
import { NodeRegistry, type RejectedRecord, type StreamRecord, type TelemetryRecord } from '../core/index.js';
import { at, STATION } from '../test/fixtures.js';
import { heapUsedAfterGc as heapUsed } from '../test/helpers.js';
import { applyReadings, lateDeadLetter, noteRejections, Watermarks, type ReadingState } from './apply-readings.js';
import { EventClock } from './clock.js';
import { Deduplicator } from './dedup.js';
import { FakeKind } from './fake-kind.js';
import { NodeHealth } from './health/processor.js';
import { defaultKinds } from '../core/kinds/modules.js';

const station = STATION;
const registry = new NodeRegistry([station], [], defaultKinds());
const WALL = at('2026-06-21T12:00:00');

function setup() {
  const noise = new FakeKind('noise');
  const state: ReadingState = {
    kinds: new Map([['noise', noise]]),
    health: new NodeHealth(),
    dedup: new Deduplicator(),
    clock: new EventClock(() => WALL),
    watermarks: new Watermarks(600),
  };
  return { noise, state };
}

const reading = (local: string, seq: number, extra: Partial<TelemetryRecord> = {}): TelemetryRecord =>
  ({
    type: 'reading',
    nodeId: station.nodeId,
    kind: 'noise',
    district: 'Lixia',
    receivedAt: at(local) + 1000,
    reading: { ts: at(local), seq, laeq: 50, periodS: 60 },
    ...extra,
  }) as TelemetryRecord;

let nextOffset = 0;
const log = (...values: (TelemetryRecord | string)[]): StreamRecord[] =>
  values.map((v) => ({
    topic: 'telemetry.raw',
    partition: 0,
    offset: nextOffset++,
    key: station.nodeId,
    value: Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)),
    timestamp: 0,
    headers: {},
  }));

describe('applying readings', () => {
  it('dead-letters a reading behind the watermark once, in the format ingest writes, with the watermark in its detail', () => {
    const { noise, state } = setup();
    // 10:20 moves the watermark to 10:10 (lateness 600 s): 10:05 is late, 10:15 is not. The late one resent is a duplicate.
    const out = applyReadings(
      state,
      registry,
      0,
      log(
        reading('2026-06-21T10:20:00', 1),
        reading('2026-06-21T10:05:00', 2),
        reading('2026-06-21T10:15:00', 3),
        reading('2026-06-21T10:05:00', 2),
      ),
      false,
    );
    expect(noise.applied).toEqual([`NS-1@${at('2026-06-21T10:20:00')}`, `NS-1@${at('2026-06-21T10:15:00')}`]);
    expect(out.processed).toEqual(new Map([['noise', 2]]));
    expect(out.skipped).toEqual([]);
    expect(out.late).toHaveLength(1);
    const [dead] = out.late;
    expect(dead!.key).toBe('NS-1');
    const rejected = JSON.parse(dead!.value.toString()) as RejectedRecord;
    // 10:05 and 10:10 in Jinan (+08:00) are 02:05 and 02:10 UTC.
    expect(rejected).toEqual({
      reason: 'late',
      detail:
        "reading ts 2026-06-21T02:05:00.000Z is behind its partition's watermark 2026-06-21T02:10:00.000Z (newest reading minus ALLOWED_LATENESS_S=600)",
      topic: 'city/Lixia/noise/NS-1/telemetry',
      nodeId: 'NS-1',
      receivedAt: at('2026-06-21T10:05:00') + 1000,
      payload: Buffer.from(JSON.stringify({ ts: at('2026-06-21T10:05:00'), seq: 2, laeq: 50, periodS: 60 })).toString('base64'),
      payloadBytes: 51, // {"ts":<13 digits>,"seq":2,"laeq":50,"periodS":60}
      truncated: false,
    });
  });

  it("names a gateway's batch topic for a reading that came through a gateway", () => {
    const record = reading('2026-06-21T10:05:00', 2, { gatewayId: 'GW-7' }) as Extract<TelemetryRecord, { type: 'reading' }>;
    const rejected = JSON.parse(lateDeadLetter(record, at('2026-06-21T10:10:00'), 600).value.toString()) as RejectedRecord;
    expect(rejected.topic).toBe('city/gateways/GW-7/batch');
  });

  it('applies a replayed batch, but neither counts, streams nor dead-letters it', () => {
    const { noise, state } = setup();
    const emit = vi.fn();
    const out = applyReadings(state, registry, 0, log(reading('2026-06-21T10:20:00', 1), reading('2026-06-21T10:05:00', 2)), true, emit);
    expect(noise.applied).toEqual([`NS-1@${at('2026-06-21T10:20:00')}`]);
    expect(out).toEqual({ processed: new Map(), late: [], skipped: [] });
    expect(emit).not.toHaveBeenCalled();
    // Its verdicts stand: the watermark, clock and health moved on as in the first pass.
    expect(state.watermarks.maxTs(0)).toBe(at('2026-06-21T10:20:00'));
    expect(state.clock.first).toBe(at('2026-06-21T10:20:00'));
    expect(state.health.exportNode('NS-1')).toEqual({
      lastSeen: at('2026-06-21T10:20:00'),
      lastReceivedAt: at('2026-06-21T10:20:00') + 1000,
    });
  });

  it('ignores a duplicate (same seq, or same ts) without counting it anywhere', () => {
    const { noise, state } = setup();
    const out = applyReadings(
      state,
      registry,
      0,
      log(reading('2026-06-21T10:00:00', 1), reading('2026-06-21T10:01:00', 1), reading('2026-06-21T10:00:00', 9)),
      false,
    );
    expect(noise.applied).toEqual([`NS-1@${at('2026-06-21T10:00:00')}`]);
    expect(out.processed).toEqual(new Map([['noise', 1]]));
    expect(out.late).toEqual([]);
  });

  it('streams each reading applied for the first time', () => {
    const { state } = setup();
    const emit = vi.fn();
    applyReadings(state, registry, 0, log(reading('2026-06-21T10:00:00', 1), reading('2026-06-21T10:00:00', 1)), false, emit);
    expect(emit.mock.calls).toEqual([
      [{ type: 'reading', nodeId: 'NS-1', kind: 'noise', district: 'Lixia', ts: at('2026-06-21T10:00:00') }],
    ]);
  });

  it('skips records it cannot read or whose node (or kind) this registry lacks', () => {
    const { noise, state } = setup();
    const records = log(
      '{not json',
      reading('2026-06-21T10:00:00', 1, { nodeId: 'NS-UNKNOWN' }),
      reading('2026-06-21T10:00:00', 1, { kind: 'parking' }),
    );
    const out = applyReadings(state, registry, 0, records, false);
    expect(out.skipped).toEqual(records);
    expect(noise.applied).toEqual([]);
    expect(out.processed).toEqual(new Map());
  });

  it('applies a status record to health only', () => {
    const { noise, state } = setup();
    const status = {
      type: 'status',
      nodeId: 'NS-1',
      kind: 'noise',
      district: 'Lixia',
      receivedAt: at('2026-06-21T10:00:00'),
      status: 'offline',
    } as TelemetryRecord;
    const out = applyReadings(state, registry, 0, log(status), false);
    expect(out.processed).toEqual(new Map());
    expect(noise.applied).toEqual([]);
    expect(state.health.exportNode('NS-1')).toEqual({ status: { value: 'offline', at: WALL } });
  });
});

describe('rejections from the dead-letter topic', () => {
  it("counts each record's reason in its partition and wall-clock minute", () => {
    const health = new NodeHealth();
    const dlq = (value: unknown, timestamp: number): StreamRecord => ({
      topic: 'telemetry.dlq',
      partition: 3,
      offset: 0,
      key: null,
      value: Buffer.from(JSON.stringify(value)),
      timestamp,
      headers: {},
    });
    const minute = at('2026-06-21T10:00:00');
    // receivedAt counts where the record has one, else the record's timestamp; a record without a reason is no rejection.
    noteRejections(health, 3, [
      dlq({ reason: 'late', receivedAt: minute + 5_000 }, minute - 3_600_000),
      dlq({ reason: 'schema' }, minute + 10_000),
      dlq({ note: 'no reason' }, minute),
      dlq({ reason: 'late', receivedAt: minute - 600_000 }, minute),
    ]);
    // Five minutes back from 10:01: the 09:50 one has gone.
    expect(health.rejections(3, minute + 60_000)).toEqual({ rejected: { late: 1, schema: 1 } });
    expect(health.rejections(4, minute + 60_000)).toEqual({ rejected: {} });
  });
});

describe('watermarks per partition', () => {
  it('starts empty, follows the newest reading, comes back from a snapshot and goes with the partition', () => {
    const w = new Watermarks(600);
    expect(w.maxTs(1)).toBeUndefined();
    expect(w.of(1).late(at('2026-06-21T10:20:00'))).toBe(false);
    expect(w.of(1).value).toBe(at('2026-06-21T10:10:00'));
    expect(w.maxTs(2)).toBeUndefined();
    w.restore(2, at('2026-06-21T09:00:00'));
    expect(w.of(2).late(at('2026-06-21T08:49:59'))).toBe(true);
    w.delete(1);
    expect(w.maxTs(1)).toBeUndefined();
  });
});

describe('applying readings: memory', () => {
  it("keeps the registry's copy of a node's id, not each reading's (the state's maps and change logs would hold one per reading)", () => {
    const long = { ...station, nodeId: `NS-${'x'.repeat(2000)}` };
    const registry = new NodeRegistry([long], [], defaultKinds());
    const { state } = setup();
    const readings = 20_000;
    const before = heapUsed();
    for (let i = 0; i < readings; i += 1000) {
      // Each record parsed on its own, as from the log: its own copy of the 2,000-character id.
      const batch = Array.from({ length: 1000 }, (_, k) =>
        reading('2026-06-21T10:00:00', i + k + 1, {
          nodeId: long.nodeId,
          reading: { ts: at('2026-06-21T10:00:00') + (i + k) * 1000, seq: i + k + 1, laeq: 50, periodS: 60 },
        }),
      );
      expect(applyReadings(state, registry, 0, log(...batch), false).skipped).toEqual([]);
    }
    // 20,000 copies of the id would be 40 MB.
    expect(heapUsed() - before).toBeLessThan(15 * 1024 * 1024);
    expect(state.health.exportNode(long.nodeId)).toMatchObject({ lastSeen: at('2026-06-21T10:00:00') + (readings - 1) * 1000 });
  });
});
