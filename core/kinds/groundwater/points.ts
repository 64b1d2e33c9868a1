import { z } from 'zod';
import {
  listKpis,
  num,
  PointBuilder,
  readingRecord,
  snapshot,
  str,
  type Measurements,
  type TagValueOf,
} from '../../../processors/sinks/influxdb/builder.js';
import { nsTime } from '../../../processors/sinks/influxdb/shape.js';
import type { NodeRegistry } from '../../registry/registry.js';
import type { InfluxPart } from '../module.js';

/**
 * The InfluxDB points of the groundwater kind (pure): its measurements, how a `metrics.groundwater` record
 * becomes points and every reading (low rate: one a minute per well), and which fields are downsampled. Times are event times from the record,
 * so a replayed record rewrites the same points (processors/sinks/influxdb/README.md).
 */

export const GROUNDWATER_MEASUREMENTS = {
  groundwater_well: {
    tags: { well: null, springGroup: null, district: null, band: ['normal', 'yellow', 'orange', 'red'] },
    fields: {
      level: 'number',
      trend24h: 'number',
      trend7d: 'number',
      hoursToNextLine: 'number',
      nextLineM: 'number',
      yellow: 'number',
      orange: 'number',
      red: 'number',
    },
  },
  groundwater_reading: { tags: { node: null, well: null }, fields: { waterTableM: 'number', tempC: 'number' } },
} as const satisfies Measurements;

const wellRow = z.object({
  nodeId: str,
  well: str,
  springGroup: str,
  district: str,
  level: num,
  band: z.string().nullable().optional(),
  trend24hCmPerDay: num,
  trend7dCmPerDay: num,
  hoursToNextLine: num,
  nextLineM: num,
  lines: z.object({ yellow: num, orange: num, red: num }).nullable().optional(),
});
const reading = readingRecord('groundwater', { waterTableM: z.number(), tempC: num });

function kpiPoints(b: PointBuilder<typeof GROUNDWATER_MEASUREMENTS>, value: unknown): boolean {
  const s = snapshot(listKpis).safeParse(value);
  if (!s.success) return false;
  const t = nsTime(s.data.ts);
  for (const raw of s.data.kpis.list ?? []) {
    const w = b.row(wellRow, raw);
    // A well that has not reported yet has no level: nothing to write.
    if (!w || w.level === null || w.level === undefined) continue;
    b.add(
      'groundwater_well',
      {
        well: w.well,
        springGroup: w.springGroup,
        district: w.district,
        band: w.band as TagValueOf<(typeof GROUNDWATER_MEASUREMENTS)['groundwater_well'], 'band'> | null | undefined,
      },
      {
        level: w.level,
        trend24h: w.trend24hCmPerDay,
        trend7d: w.trend7dCmPerDay,
        hoursToNextLine: w.hoursToNextLine,
        nextLineM: w.nextLineM,
        yellow: w.lines?.yellow,
        orange: w.lines?.orange,
        red: w.lines?.red,
      },
      t,
    );
  }
  return true;
}

function readingPoints(b: PointBuilder<typeof GROUNDWATER_MEASUREMENTS>, value: unknown, registry: NodeRegistry | undefined): boolean {
  const s = reading.safeParse(value);
  if (!s.success) return false;
  const r = s.data;
  const node = registry?.get(r.nodeId);
  const well = node && 'well' in node ? String(node.well) : undefined;
  b.add(
    'groundwater_reading',
    { node: r.nodeId, well },
    { waterTableM: r.reading.waterTableM, tempC: r.reading.tempC },
    nsTime(r.reading.ts),
  );
  return true;
}

export const groundwaterPoints: InfluxPart<typeof GROUNDWATER_MEASUREMENTS> = {
  measurements: GROUNDWATER_MEASUREMENTS,
  rollups: { groundwater_well: ['level', 'trend24h', 'trend7d', 'hoursToNextLine', 'nextLineM'] },
  kpiPoints,
  readingPoints,
};
