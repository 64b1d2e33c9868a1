import { z } from 'zod';
import { map, num, PointBuilder, snapshot, str, type Measurements } from '../../../processors/sinks/influxdb/builder.js';
import { nsTime } from '../../../processors/sinks/influxdb/shape.js';
import { lotPlace } from '../../registry/places.js';
import type { NodeRegistry } from '../../registry/registry.js';
import type { InfluxPart } from '../module.js';

/**
 * The InfluxDB points of the parking kind (pure): its measurements, how a `metrics.parking` record
 * becomes points, and which fields are downsampled. Times are event times from the record,
 * so a replayed record rewrites the same points (processors/sinks/influxdb/README.md).
 */

export const PARKING_MEASUREMENTS = {
  parking: {
    tags: { scope: ['city', 'district', 'lot'], name: null, district: null },
    fields: {
      occupancy: 'number',
      occupied: 'number',
      free: 'number',
      unknown: 'number',
      spaces: 'number',
      lots: 'number',
      full: 'number',
      nearlyFull: 'number',
      state: 'string',
      lotName: 'string',
      lat: 'number',
      lon: 'number',
      sessions: 'number',
      turnover: 'number',
      meanDwellMin: 'number',
    },
  },
} as const satisfies Measurements;

const parkingCounts = z.object({
  spaces: num,
  occupied: num,
  free: num,
  unknown: num,
  occupancy: num,
  sessions: num,
  turnover: num,
  meanDwellMin: num,
});
const parkingKpis = parkingCounts.extend({
  lots: num,
  full: num,
  nearlyFull: num,
  byDistrict: map,
  list: z.array(z.unknown()).optional(),
});
const lotRow = parkingCounts.extend({ lotId: str, lotName: z.string().optional(), district: str, state: z.string().nullable().optional() });

function kpiPoints(b: PointBuilder<typeof PARKING_MEASUREMENTS>, value: unknown, registry: NodeRegistry | undefined): boolean {
  const s = snapshot(parkingKpis).safeParse(value);
  if (!s.success) return false;
  const { ts, kpis: k } = s.data;
  const t = nsTime(ts);
  const counts = (c: z.output<typeof parkingCounts>) => ({
    occupancy: c.occupancy,
    occupied: c.occupied,
    free: c.free,
    unknown: c.unknown,
    spaces: c.spaces,
    sessions: c.sessions,
    turnover: c.turnover,
    meanDwellMin: c.meanDwellMin,
  });
  b.add('parking', { scope: 'city', name: 'city' }, { ...counts(k), lots: k.lots, full: k.full, nearlyFull: k.nearlyFull }, t);
  for (const [name, raw] of Object.entries(k.byDistrict ?? {})) {
    const d = b.row(parkingCounts, raw);
    if (d) b.add('parking', { scope: 'district', name }, counts(d), t);
  }
  for (const raw of k.list ?? []) {
    const lot = b.row(lotRow, raw);
    if (!lot) continue;
    const at = registry && lotPlace(registry, lot.lotId);
    b.add(
      'parking',
      { scope: 'lot', name: lot.lotId, district: lot.district },
      { ...counts(lot), state: lot.state, lotName: lot.lotName, lat: at?.lat, lon: at?.lon },
      t,
    );
  }
  return true;
}

export const parkingPoints: InfluxPart<typeof PARKING_MEASUREMENTS> = {
  measurements: PARKING_MEASUREMENTS,
  rollups: {
    parking: ['occupancy', 'occupied', 'free', 'unknown', 'spaces', 'lots', 'full', 'nearlyFull', 'sessions', 'turnover', 'meanDwellMin'],
  },
  kpiPoints,
};
