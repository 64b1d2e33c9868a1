import { describe, expect, it } from 'vitest';
import { evaluateWhole } from '../../../processors/types.js';
import { ParkingMerger } from './merge.js';
import type { NodeOf, RegistryNode } from '../../index.js';
import { ctx, record } from '../../../test/fixtures.js';
import { lotState, occupancy } from './occupancy.js';
import { ParkingProcessor } from './processor.js';

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
    const spaces: RegistryNode[] = Array.from({ length: 20 }, (_, i) => ({
      nodeId: `PK-${i}`,
      kind: 'parking',
      district: 'Lixia',
      lat: 36.6,
      lon: 117,
      lotId: 'LOT-1',
      lotName: 'Quancheng Square',
      spaces: 20,
    }));
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
