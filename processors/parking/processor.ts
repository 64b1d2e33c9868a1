import type { AlertCondition, NodeOf, ParkingReading, ReadingRecord } from '../../core/index.js';
import { isFresh } from '../freshness.js';
import type { EvalContext, Evaluation, KindProcessor } from '../types.js';
import { lotState, occupancy, type LotCount } from './occupancy.js';

type Space = NodeOf<'parking'>;
type Lot = LotCount & { lotId: string; lotName: string; district: string; unknown: number };

/** Parking: occupancy and free spaces per lot, district and city; full lots raise ParkingLotFull. */
export class ParkingProcessor implements KindProcessor<'parking'> {
  readonly kind = 'parking' as const;
  readonly #latest = new Map<string, ParkingReading>();

  apply(record: ReadingRecord<'parking'>): void {
    const prev = this.#latest.get(record.nodeId);
    if (!prev || record.reading.ts >= prev.ts) this.#latest.set(record.nodeId, record.reading);
  }

  #spaceState(space: Space, ctx: EvalContext): 'occupied' | 'free' | 'unknown' {
    const r = this.#latest.get(space.nodeId);
    if (!r || !isFresh(r.ts, ctx.registry.expectedIntervalS(space), ctx.config.ONLINE_GRACE_FACTOR, ctx.now)) return 'unknown';
    return r.status;
  }

  evaluate(ctx: EvalContext): Evaluation {
    const lots = new Map<string, Lot>();
    for (const space of ctx.registry.ofKind('parking')) {
      let lot = lots.get(space.lotId);
      if (!lot) lots.set(space.lotId, (lot = { lotId: space.lotId, lotName: space.lotName, district: space.district, spaces: space.spaces, occupied: 0, free: 0, unknown: 0 }));
      const state = this.#spaceState(space, ctx);
      if (state === 'occupied') lot.occupied++;
      else if (state === 'free') lot.free++;
    }
    const { PARKING_NEARLY_FULL: nearly, PARKING_FULL: full } = ctx.config;
    const conditions: AlertCondition[] = [];
    const city: LotCount & { unknown: number } = { spaces: 0, occupied: 0, free: 0, unknown: 0 };
    const districts: Record<string, LotCount & { unknown: number }> = {};
    const list = [];
    for (const lot of lots.values()) {
      // Spaces without a fresh detector report (or without a detector at all) are unknown.
      lot.unknown = Math.max(0, lot.spaces - lot.occupied - lot.free);
      const rate = occupancy(lot);
      const state = lotState(rate, nearly, full);
      list.push({ ...lot, occupancy: rate, state });
      const d = (districts[lot.district] ??= { spaces: 0, occupied: 0, free: 0, unknown: 0 });
      for (const agg of [city, d]) {
        agg.spaces += lot.spaces;
        agg.occupied += lot.occupied;
        agg.free += lot.free;
        agg.unknown += lot.unknown;
      }
      if (state === 'full') {
        conditions.push({
          alertname: 'ParkingLotFull',
          severity: 'info',
          labels: { kind: 'parking', district: lot.district, lot: lot.lotId },
          summary: `${lot.lotName} is full: ${lot.occupied} of ${lot.occupied + lot.free} known spaces occupied`,
          value: rate ?? undefined,
        });
      }
    }
    return {
      kpis: {
        lots: lots.size,
        ...city,
        occupancy: occupancy(city),
        full: list.filter((l) => l.state === 'full').length,
        nearlyFull: list.filter((l) => l.state === 'nearly-full').length,
        byDistrict: Object.fromEntries(Object.entries(districts).map(([k, v]) => [k, { ...v, occupancy: occupancy(v) }])),
        list,
      },
      conditions,
    };
  }

  describe(space: Space, ctx: EvalContext) {
    return { latest: this.#latest.get(space.nodeId), derived: { space: this.#spaceState(space, ctx) } };
  }
}
