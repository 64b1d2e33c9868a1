import type { AlertCondition, NodeRegistry } from '../../index.js';
import type { EvalContext, Evaluation, KindMerger } from '../../../processors/types.js';
import { lotState, occupancy, type LotCount } from './occupancy.js';
import type { ParkingSection } from './processor.js';
import type { ParkingKpis } from './kpis.js';

type LotInfo = { lotId: string; lotName: string; district: string; spaces: number };
/** The registry's lots sorted by id, and each one's position in that order. */
interface Lots {
  version: number;
  lots: LotInfo[];
  position: Map<string, number>;
}
const lotIndex = new WeakMap<NodeRegistry, Lots>();
/**
 * The registry's lots by id (rebuilt after a registry change: a lot decommissioned or its spaces
 * changed counts at once). Sorted once per registry version, not at every evaluation: a city has
 * thousands of lots, and evaluations come several times a second.
 */
function lotsOf(registry: NodeRegistry): Lots {
  const cached = lotIndex.get(registry);
  if (cached?.version === registry.version) return cached;
  const byId = new Map<string, LotInfo>();
  for (const s of registry.ofKind('parking'))
    if (!byId.has(s.lotId)) byId.set(s.lotId, { lotId: s.lotId, lotName: s.lotName, district: s.district, spaces: s.spaces });
  const lots = [...byId.values()].sort((a, b) => a.lotId.localeCompare(b.lotId));
  const index: Lots = { version: registry.version, lots, position: new Map(lots.map((lot, i) => [lot.lotId, i])) };
  lotIndex.set(registry, index);
  return index;
}

/** Fields of a lot's row that come from the partials' counts (occupied, free, sessions, parked time) */
const COUNTS = 4;

type Tally = LotCount & { unknown: number; sessions: number; parkedMs: number };

/** Turnover = sessions / spaces over the local day; mean dwell = parked time / sessions, in minutes. */
function turnover(t: { spaces: number; sessions: number; parkedMs: number }) {
  return {
    sessions: t.sessions,
    turnover: t.spaces === 0 ? null : t.sessions / t.spaces,
    meanDwellMin: t.sessions === 0 ? null : t.parkedMs / t.sessions / 60_000,
  };
}

/** Occupancy, free spaces, turnover and mean dwell per lot, district and city; full lots raise ParkingLotFull. */
export class ParkingMerger implements KindMerger<ParkingSection> {
  /**
   * The rows of the last merge and what they were made of: a lot whose counts did not change keeps
   * its row object, so what compares evaluations (the live stream's patches) finds it unchanged at once.
   */
  #last: { lots: LotInfo[]; nearly: number; full: number; counts: Float64Array; rows: ParkingKpis['list'] } | undefined;

  merge(sections: ParkingSection[], ctx: EvalContext): Evaluation {
    const { lots, position } = lotsOf(ctx.registry);
    // Per lot, summed over the partitions in their order (lots no longer in the registry are not listed).
    const counts = new Float64Array(lots.length * COUNTS);
    for (const s of sections) {
      for (const lotId in s.lots) {
        const at = position.get(lotId);
        if (at === undefined) continue;
        const [occ, free, sessions = 0, parkedMs = 0] = s.lots[lotId]!;
        counts[at * COUNTS]! += occ;
        counts[at * COUNTS + 1]! += free;
        counts[at * COUNTS + 2]! += sessions;
        counts[at * COUNTS + 3]! += parkedMs;
      }
    }
    const { PARKING_NEARLY_FULL: nearly, PARKING_FULL: full } = ctx.config;
    const conditions: AlertCondition[] = [];
    const city: Tally = { spaces: 0, occupied: 0, free: 0, unknown: 0, sessions: 0, parkedMs: 0 };
    const districts: Record<string, Tally> = {};
    const last = this.#last?.lots === lots && this.#last.nearly === nearly && this.#last.full === full ? this.#last : undefined;
    const list: ParkingKpis['list'] = [];
    for (let i = 0; i < lots.length; i++) {
      const lot = lots[i]!;
      const at = i * COUNTS;
      const [occupied, free, sessions, parkedMs] = [counts[at]!, counts[at + 1]!, counts[at + 2]!, counts[at + 3]!];
      // Spaces without a fresh detector report (or without a detector at all) are unknown, never free.
      const unknown = Math.max(0, lot.spaces - occupied - free);
      const rate = occupancy({ spaces: lot.spaces, occupied, free });
      const state = lotState(rate, nearly, full);
      const was = last?.counts;
      const unchanged =
        was !== undefined && was[at] === occupied && was[at + 1] === free && was[at + 2] === sessions && was[at + 3] === parkedMs;
      list.push(
        unchanged
          ? last!.rows[i]!
          : { ...lot, occupied, free, unknown, occupancy: rate, state, ...turnover({ spaces: lot.spaces, sessions, parkedMs }) },
      );
      const d = (districts[lot.district] ??= { spaces: 0, occupied: 0, free: 0, unknown: 0, sessions: 0, parkedMs: 0 });
      for (const agg of [city, d]) {
        agg.spaces += lot.spaces;
        agg.occupied += occupied;
        agg.free += free;
        agg.unknown += unknown;
        agg.sessions += sessions;
        agg.parkedMs += parkedMs;
      }
      if (state === 'full') {
        conditions.push({
          alertname: 'ParkingLotFull',
          severity: 'info',
          labels: { kind: 'parking', district: lot.district, lot: lot.lotId },
          summary: `${lot.lotName} is full: ${occupied} of ${occupied + free} known spaces occupied`,
          value: rate ?? undefined,
        });
      }
    }
    this.#last = { lots, nearly, full, counts, rows: list };
    return {
      kpis: {
        lots: list.length,
        spaces: city.spaces,
        occupied: city.occupied,
        free: city.free,
        unknown: city.unknown,
        occupancy: occupancy(city),
        ...turnover(city),
        full: list.filter((l) => l.state === 'full').length,
        nearlyFull: list.filter((l) => l.state === 'nearly-full').length,
        byDistrict: Object.fromEntries(
          Object.entries(districts)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([k, v]) => [
              k,
              { spaces: v.spaces, occupied: v.occupied, free: v.free, unknown: v.unknown, occupancy: occupancy(v), ...turnover(v) },
            ]),
        ),
        list,
      } satisfies ParkingKpis,
      conditions,
    };
  }
}
