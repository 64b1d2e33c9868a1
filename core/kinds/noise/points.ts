import { z } from 'zod';
import {
  bool,
  epochMs,
  listKpis,
  num,
  PointBuilder,
  readingRecord,
  snapshot,
  str,
  type Measurements,
} from '../../../processors/sinks/influxdb/builder.js';
import { nsTime } from '../../../processors/sinks/influxdb/shape.js';
import { noisePeriod } from '../../time/index.js';
import type { NodeRegistry } from '../../registry/registry.js';
import type { InfluxPart } from '../module.js';
import { ZONE_LIMITS } from './spec.js';

/**
 * The InfluxDB points of the noise kind (pure): its measurements, how a `metrics.noise` record
 * becomes points and every reading (low rate: one a minute per station), and which fields are downsampled. Times are event times from the record,
 * so a replayed record rewrites the same points (processors/sinks/influxdb/README.md).
 */

export const NOISE_MEASUREMENTS = {
  noise_station: {
    tags: { station: null, district: null, zoneClass: null, period: ['day', 'night'] },
    fields: { leq: 'number', limit: 'number', coverage: 'number', complete: 'boolean', exceeds: 'boolean' },
  },
  noise_day: {
    tags: { station: null, district: null, zoneClass: null },
    fields: {
      ld: 'number',
      ldValidRate: 'number',
      ldComplete: 'boolean',
      ldExceeds: 'boolean',
      ldLimit: 'number',
      ln: 'number',
      lnValidRate: 'number',
      lnComplete: 'boolean',
      lnExceeds: 'boolean',
      lnLimit: 'number',
    },
  },
  noise_reading: {
    tags: { node: null, station: null, period: ['day', 'night'] },
    fields: { laeq: 'number', lamax: 'number', lamin: 'number', l10: 'number', l50: 'number', l90: 'number' },
  },
} as const satisfies Measurements;

const noiseDay = z.object({
  date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  ld: num,
  ldValidRate: num,
  ldComplete: bool,
  ldExceeds: bool,
  ln: num,
  lnValidRate: num,
  lnComplete: bool,
  lnExceeds: bool,
});
const stationRow = z.object({
  nodeId: str,
  station: str,
  district: str,
  zoneClass: str,
  lastHour: z.object({
    hourStart: epochMs,
    period: z.enum(['day', 'night']),
    leq: num,
    limit: num,
    coverage: num,
    complete: bool,
    exceeds: bool,
  }),
  today: z.unknown().optional(),
  yesterday: z.unknown().optional(),
});

const reading = readingRecord('noise', { laeq: z.number(), lamax: num, lamin: num, l10: num, l50: num, l90: num });

/** Midnight (Asia/Shanghai) starting a local date `YYYY-MM-DD`. */
const localMidnight = (date: string) => Date.parse(`${date}T00:00:00+08:00`);

function kpiPoints(b: PointBuilder<typeof NOISE_MEASUREMENTS>, value: unknown): boolean {
  const s = snapshot(listKpis).safeParse(value);
  if (!s.success) return false;
  for (const raw of s.data.kpis.list ?? []) {
    const row = b.row(stationRow, raw);
    if (!row) continue;
    const h = row.lastHour;
    const tags = { station: row.station, district: row.district, zoneClass: row.zoneClass };
    // Keyed at the hour's start: every snapshot during the next hour rewrites the same point.
    b.add(
      'noise_station',
      { ...tags, period: h.period },
      { leq: h.leq, limit: h.limit, coverage: h.coverage, complete: h.complete, exceeds: h.exceeds },
      nsTime(h.hourStart),
    );
    // Ld / Ln per local day, keyed at the day's midnight: today's point is rewritten until the day is done.
    const limits = (ZONE_LIMITS as Record<string, { day: number; night: number } | undefined>)[row.zoneClass];
    for (const day of [row.yesterday, row.today]) {
      const d = b.optional(noiseDay, day);
      if (!d) continue;
      b.add(
        'noise_day',
        tags,
        {
          ld: d.ld,
          ldValidRate: d.ldValidRate,
          ldComplete: d.ldComplete,
          ldExceeds: d.ldExceeds,
          ldLimit: limits?.day,
          ln: d.ln,
          lnValidRate: d.lnValidRate,
          lnComplete: d.lnComplete,
          lnExceeds: d.lnExceeds,
          lnLimit: limits?.night,
        },
        nsTime(localMidnight(d.date)),
      );
    }
  }
  return true;
}

function readingPoints(b: PointBuilder<typeof NOISE_MEASUREMENTS>, value: unknown, registry: NodeRegistry | undefined): boolean {
  const s = reading.safeParse(value);
  if (!s.success) return false;
  const r = s.data;
  const node = registry?.get(r.nodeId);
  const station = node && 'station' in node ? String(node.station) : undefined;
  const x = r.reading;
  // The GB 3096 period of the minute, so night peaks can be selected without local-time maths in InfluxQL.
  b.add(
    'noise_reading',
    { node: r.nodeId, station, period: noisePeriod(x.ts) },
    { laeq: x.laeq, lamax: x.lamax, lamin: x.lamin, l10: x.l10, l50: x.l50, l90: x.l90 },
    nsTime(x.ts),
  );
  return true;
}

export const noisePoints: InfluxPart<typeof NOISE_MEASUREMENTS> = {
  measurements: NOISE_MEASUREMENTS,
  rollups: { noise_station: ['leq', 'limit', 'coverage'] },
  kpiPoints,
  readingPoints,
};
