import type { NodeOf, ParkingReading, ReadingRecord } from '../../core/index.js';
import { isFresh } from '../freshness.js';
import type { EvalContext, KindPartial, KindProcessor } from '../types.js';

type Space = NodeOf<'parking'>;

/** Per lot, the spaces of this partition known occupied and known free. */
export interface ParkingSection {
  lots: Record<string, [occupied: number, free: number]>;
}

/** Parking detectors: each space's latest state; a detector silent past its interval x grace is unknown. */
export class ParkingProcessor implements KindProcessor<'parking', ParkingSection> {
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

  partial(spaces: readonly Space[], ctx: EvalContext): KindPartial<ParkingSection> {
    const lots: ParkingSection['lots'] = {};
    for (const space of spaces) {
      const counts = (lots[space.lotId] ??= [0, 0]);
      const state = this.#spaceState(space, ctx);
      if (state === 'occupied') counts[0]++;
      else if (state === 'free') counts[1]++;
    }
    return { section: { lots }, conditions: [] };
  }

  exportNode(nodeId: string): unknown {
    return this.#latest.get(nodeId);
  }

  importNode(nodeId: string, state: unknown): void {
    this.#latest.set(nodeId, state as ParkingReading);
  }

  describe(space: Space, ctx: EvalContext) {
    return { latest: this.#latest.get(space.nodeId), derived: { space: this.#spaceState(space, ctx) } };
  }
}
