import { z } from 'zod';
import { bool, map, num, PointBuilder, snapshot, type Measurements } from '../../../processors/sinks/influxdb/builder.js';
import { nsTime } from '../../../processors/sinks/influxdb/shape.js';
import type { InfluxPart } from '../module.js';

/**
 * The InfluxDB points of the streetlight kind (pure): its measurements, how a `metrics.streetlight` record
 * becomes points, and which fields are downsampled. Times are event times from the record,
 * so a replayed record rewrites the same points (processors/sinks/influxdb/README.md).
 */

export const LIGHTING_MEASUREMENTS = {
  lighting: {
    tags: { scope: ['city', 'district', 'roadClass'], name: null },
    fields: {
      rate: 'number',
      lit: 'number',
      expected: 'number',
      unknown: 'number',
      lamps: 'number',
      darkCircuits: 'number',
      onInDaytime: 'number',
      scheduledOn: 'boolean',
      target: 'number',
      compliant: 'boolean',
      halfNight: 'boolean',
      designed: 'number',
      installed: 'number',
      installationRate: 'number',
      facilities: 'number',
      intact: 'number',
      intactRate: 'number',
      roads: 'number',
      roadsCompliant: 'number',
      roadsNonCompliant: 'number',
    },
  },
} as const satisfies Measurements;

const lightingGroup = z.object({ rate: num, lit: num, expected: num, target: num, compliant: bool });
/** `installation`, `installationByDistrict[d]`, `installationByRoadClass[c]`. */
const installationGroup = z.object({ designed: num, installed: num, rate: num });
/** `intact`, `intactByDistrict[d]`. */
const intactGroup = z.object({ facilities: num, intact: num, rate: num });
const lightingKpis = z.object({
  lamps: num,
  scheduledOn: bool,
  rate: num,
  lit: num,
  expected: num,
  unknown: num,
  darkCircuits: num,
  onInDaytime: num,
  byRoadClass: map,
  byDistrict: map,
  // Written when present (newer processors); each is read on its own, so one odd shape skips only itself.
  installation: z.unknown().optional(),
  installationByDistrict: map,
  installationByRoadClass: map,
  intact: z.unknown().optional(),
  intactByDistrict: map,
  halfNight: z.unknown().optional(),
  roads: z.unknown().optional(),
});
const roadsSummary = z.object({ total: num, compliant: num, nonCompliant: z.array(z.unknown()).nullable().optional() });

/** `halfNight` as a flag: a boolean, or an object saying whether the mode is active now. */
function halfNightFlag(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    for (const k of ['active', 'on', 'now']) if (typeof o[k] === 'boolean') return o[k];
  }
  return undefined;
}

function kpiPoints(b: PointBuilder<typeof LIGHTING_MEASUREMENTS>, value: unknown): boolean {
  const s = snapshot(lightingKpis).safeParse(value);
  if (!s.success) return false;
  const { ts, kpis: k } = s.data;
  const t = nsTime(ts);
  const inst = b.optional(installationGroup, k.installation);
  const intact = b.optional(intactGroup, k.intact);
  const roads = b.optional(roadsSummary, k.roads);
  b.add(
    'lighting',
    { scope: 'city', name: 'city' },
    {
      rate: k.rate,
      lit: k.lit,
      expected: k.expected,
      unknown: k.unknown,
      lamps: k.lamps,
      darkCircuits: k.darkCircuits,
      onInDaytime: k.onInDaytime,
      scheduledOn: k.scheduledOn,
      halfNight: halfNightFlag(k.halfNight),
      designed: inst?.designed,
      installed: inst?.installed,
      installationRate: inst?.rate,
      facilities: intact?.facilities,
      intact: intact?.intact,
      intactRate: intact?.rate,
      roads: roads?.total,
      roadsCompliant: roads?.compliant,
      roadsNonCompliant: roads?.nonCompliant?.length,
    },
    t,
  );
  // One point per district / road class with every KPI known for it (rate, installation, intact).
  const districts = new Set([
    ...Object.keys(k.byDistrict ?? {}),
    ...Object.keys(k.installationByDistrict ?? {}),
    ...Object.keys(k.intactByDistrict ?? {}),
  ]);
  for (const name of [...districts].sort()) {
    const g = b.optional(lightingGroup, k.byDistrict?.[name]);
    const i = b.optional(installationGroup, k.installationByDistrict?.[name]);
    const f = b.optional(intactGroup, k.intactByDistrict?.[name]);
    b.add(
      'lighting',
      { scope: 'district', name },
      {
        rate: g?.rate,
        lit: g?.lit,
        expected: g?.expected,
        designed: i?.designed,
        installed: i?.installed,
        installationRate: i?.rate,
        facilities: f?.facilities,
        intact: f?.intact,
        intactRate: f?.rate,
      },
      t,
    );
  }
  const classes = new Set([...Object.keys(k.byRoadClass ?? {}), ...Object.keys(k.installationByRoadClass ?? {})]);
  for (const name of [...classes].sort()) {
    const g = b.optional(lightingGroup, k.byRoadClass?.[name]);
    const i = b.optional(installationGroup, k.installationByRoadClass?.[name]);
    b.add(
      'lighting',
      { scope: 'roadClass', name },
      {
        rate: g?.rate,
        lit: g?.lit,
        expected: g?.expected,
        target: g?.target,
        compliant: g?.compliant,
        designed: i?.designed,
        installed: i?.installed,
        installationRate: i?.rate,
      },
      t,
    );
  }
  return true;
}

export const lightingPoints: InfluxPart<typeof LIGHTING_MEASUREMENTS> = {
  measurements: LIGHTING_MEASUREMENTS,
  rollups: {
    lighting: [
      'rate',
      'lit',
      'expected',
      'unknown',
      'lamps',
      'darkCircuits',
      'onInDaytime',
      'target',
      'installationRate',
      'intactRate',
      'roadsNonCompliant',
    ],
  },
  kpiPoints,
};
