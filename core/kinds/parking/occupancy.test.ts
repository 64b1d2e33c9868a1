import { describe, expect, it } from 'vitest';
import { evaluateWhole } from '../../../processors/types.js';
import { ParkingMerger } from './merge.js';
import type { NodeOf, RegistryNode } from '../../index.js';
import { ctx, record } from '../../../test/fixtures.js';
import { lotState, occupancy } from './occupancy.js';
import { ParkingProcessor } from './processor.js';

/** The `n` spaces of one lot. */
const spacesOf = (lotId: string, n: number, lotName = lotId): RegistryNode[] =>
  Array.from({ length: n }, (_, i) => ({
    nodeId: `${lotId}-${i}`,
    kind: 'parking',
    district: 'Lixia',
    lat: 36.6,
    lon: 117,
    lotId,
    lotName,
    spaces: n,
  }));

describe('parking occupancy', () => {
  it('is occupied over known spaces; unknown spaces are neither free nor occupied', () => {
    expect(occupancy({ spaces: 10, occupied: 6, free: 2 })).toBe(0.75);
    expect(occupancy({ spaces: 10, occupied: 0, free: 0 })).toBeNull();
    expect(lotState(0.95, 0.9, 0.95)).toBe('full');
    expect(lotState(0.9, 0.9, 0.95)).toBe('nearly-full');
    expect(lotState(0.5, 0.9, 0.95)).toBe('normal');
    expect(lotState(null, 0.9, 0.95)).toBe('unknown');
  });

  it('makes a space whose detector missed its heartbeats unknown, and flags a full lot', () => {
    const now = Date.parse('2026-06-01T09:00:00Z');
    const spaces = spacesOf('LOT-1', 20, 'Quancheng Square');
    const p = new ParkingProcessor();
    const m = new ParkingMerger();
    spaces.forEach((s, i) => {
      // 19 occupied and fresh, the last one reported free 2 hours ago (stale: 600 s x 3 grace = 30 min).
      const stale = i === 19;
      p.apply(record(s as NodeOf<'parking'>, { ts: stale ? now - 2 * 3_600_000 : now - 60_000, status: stale ? 'free' : 'occupied' }));
    });
    const { kpis, conditions } = evaluateWhole(p, m, ctx(spaces, now));
    expect(kpis).toMatchObject({ spaces: 20, occupied: 19, free: 0, unknown: 1, occupancy: 1, full: 1 });
    expect(conditions).toMatchObject([{ alertname: 'ParkingLotFull', labels: { lot: 'LOT-1' } }]);
  });
});

describe('parking merger across evaluations', () => {
  const spaces = [...spacesOf('LOT-A', 4), ...spacesOf('LOT-B', 4)];
  const c = ctx(spaces, Date.parse('2026-06-01T09:00:00Z'));

  it('sums each lot over the partitions and keeps the row of a lot whose counts did not change (the same object)', () => {
    const m = new ParkingMerger();
    const first = m.merge(
      [{ lots: { 'LOT-A': [1, 2], 'LOT-B': [0, 1, 2, 600_000] } }, { lots: { 'LOT-A': [1, 0, 1, 300_000], 'LOT-X': [5, 5] } }],
      c,
    ).kpis as { list: { lotId: string; occupied: number; free: number; unknown: number; sessions: number }[] };
    // LOT-X is in no registry lot: not listed.
    expect(first.list.map((r) => [r.lotId, r.occupied, r.free, r.unknown, r.sessions])).toEqual([
      ['LOT-A', 2, 2, 0, 1],
      ['LOT-B', 0, 1, 3, 2],
    ]);
    // LOT-A changed; LOT-B has the same totals (from one partition now): its row is the same object.
    const second = m.merge([{ lots: { 'LOT-A': [3, 1, 1, 300_000], 'LOT-B': [0, 1, 2, 600_000] } }], c).kpis as typeof first;
    expect(second.list[0]).toMatchObject({ lotId: 'LOT-A', occupied: 3, free: 1, sessions: 1 });
    expect(second.list[0]).not.toBe(first.list[0]);
    expect(second.list[1]).toBe(first.list[1]);
    // Other thresholds: every row made again.
    const stricter = m.merge([{ lots: { 'LOT-A': [3, 1, 1, 300_000], 'LOT-B': [0, 1, 2, 600_000] } }], {
      ...c,
      config: { ...c.config, PARKING_FULL: 0.5 },
    }).kpis as typeof first;
    expect(stricter.list[1]).not.toBe(second.list[1]);
    expect(stricter.list[1]).toEqual(second.list[1]);
  });
});
