import type { AlertCondition, NodeRegistry } from '../../index.js';
import type { EvalContext, Evaluation, KindMerger } from '../../../processors/types.js';
import { lotState, occupancy, type LotCount } from './occupancy.js';
import type { ParkingSection } from './processor.js';
import type { ParkingKpis } from './kpis.js';

type LotInfo = { lotId: string; lotName: string; district: string; spaces: number };
const lotIndex = new WeakMap<NodeRegistry, { version: number; lots: LotInfo[] }>();
/**
 * The registry's lots by id (rebuilt after a registry change: a lot decommissioned or its spaces
 * changed counts at once). Sorted once per registry version, not at every evaluation: a city has
 * thousands of lots, and evaluations come several times a second.
 */
function lotsOf(registry: NodeRegistry): LotInfo[] {
  const cached = lotIndex.get(registry);
  if (cached?.version === registry.version) return cached.lots;
  const byId = new Map<string, LotInfo>();
  for (const s of registry.ofKind('parking'))
    if (!byId.has(s.lotId)) byId.set(s.lotId, { lotId: s.lotId, lotName: s.lotName, district: s.district, spaces: s.spaces });
  const lots = [...byId.values()].sort((a, b) => a.lotId.localeCompare(b.lotId));
  lotIndex.set(registry, { version: registry.version, lots });
  return lots;
}

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
  merge(sections: ParkingSection[], ctx: EvalContext): Evaluation {
    const counts = new Map<string, [number, number, number, number]>();
    for (const s of sections) {
      for (const [lotId, [occ, free, sessions = 0, parkedMs = 0]] of Object.entries(s.lots)) {
        const c = counts.get(lotId) ?? [0, 0, 0, 0];
        c[0] += occ;
        c[1] += free;
        c[2] += sessions;
        c[3] += parkedMs;
        counts.set(lotId, c);
      }
    }
    const { PARKING_NEARLY_FULL: nearly, PARKING_FULL: full } = ctx.config;
    const conditions: AlertCondition[] = [];
    const city: Tally = { spaces: 0, occupied: 0, free: 0, unknown: 0, sessions: 0, parkedMs: 0 };
    const districts: Record<string, Tally> = {};
    const list = [];
    for (const lot of lotsOf(ctx.registry)) {
      const [occupied, free, sessions, parkedMs] = counts.get(lot.lotId) ?? [0, 0, 0, 0];
      // Spaces without a fresh detector report (or without a detector at all) are unknown, never free.
      const unknown = Math.max(0, lot.spaces - occupied - free);
      const rate = occupancy({ spaces: lot.spaces, occupied, free });
      const state = lotState(rate, nearly, full);
      list.push({ ...lot, occupied, free, unknown, occupancy: rate, state, ...turnover({ spaces: lot.spaces, sessions, parkedMs }) });
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
