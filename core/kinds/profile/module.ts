import { ProfileMerger } from '../../../processors/profile/merge.js';
import { ProfileProcessor } from '../../../processors/profile/processor.js';
import {
  profileKpiPoints,
  profileMeasurementNames,
  profileMeasurements,
  profileReadingPoint,
  profileRollupFields,
} from '../../../processors/sinks/influxdb/profile.js';
import { profileDashboard } from '../../../dashboards/boards/profile.js';
import { normalState } from '../../../simulators/models/context.js';
import { profileModel } from '../../../simulators/models/profile.js';
import type { AnyKindModule } from '../module.js';
import { profileAttrs, profileReading } from './derive.js';
import { profileKpisSchema } from './kpis-schema.js';
import type { KindProfile } from './schema.js';

/** A profile kind as a kind module: every part derived from its file. */
export function profileModule(profile: KindProfile): AnyKindModule {
  return {
    name: profile.kind,
    section: profile.kind,
    reading: profileReading(profile) as unknown as AnyKindModule['reading'],
    attrs: profileAttrs(profile),
    expectedIntervalS: profile.expectedIntervalS,
    alerts: [...new Set(profile.alerts.map((a) => a.alert))],
    kpis: profileKpisSchema,
    processor: () => new ProfileProcessor(profile),
    merger: () => new ProfileMerger(profile),
    influx: {
      measurements: profileMeasurements(profile),
      rollups: { [profileMeasurementNames(profile.kind).kpis]: profileRollupFields(profile) },
      kpiPoints(b, value) {
        const converted = profileKpiPoints(profile, value);
        if (!converted) return false;
        for (const p of converted.points) b.push(p);
        b.skipped += converted.skipped;
        return true;
      },
      readingPoints(b, value) {
        const p = profileReadingPoint(profile, value);
        b.push(p?.point ?? null);
        return p !== null;
      },
    },
    dashboard: () => profileDashboard(profile),
    model: (node, t, ctx) => profileModel(node, profile, t, ctx),
    sample(node, ts, r) {
      // Its normal values, or (1 reading in 20) its first scenario's values.
      const scenario = normalState(ts);
      const [name, sc] = Object.entries(profile.simulate.scenarios)[0] ?? [];
      if (name && sc && r < 0.05) scenario.profileTargets = new Map([[node.nodeId, { scenario: name, values: sc.values, rampS: 0 }]]);
      const { ts: _ts, ...fields } = profileModel(node, profile, ts, { seed: 7, scenario });
      return fields;
    },
    violate: (reading, variant) => violateProfile(profile, reading, variant),
    profile,
  };
}

/** A value of the wrong type for a profile field, or (variant 1) a number outside its field's range where one has a bound. */
function violateProfile(profile: KindProfile, reading: Record<string, unknown>, variant: 0 | 1): Record<string, unknown> {
  const fields = Object.entries(profile.fields);
  if (variant === 1) {
    for (const [name, f] of fields) {
      if (f.type === 'number' && f.max !== undefined) return { ...reading, [name]: f.max + 1 };
      if (f.type === 'number' && f.min !== undefined) return { ...reading, [name]: f.min - 1 };
    }
  }
  const [name, f] = fields[0]!;
  // Enum values are identifiers, so a value with a dash is none of them.
  return { ...reading, [name]: f.type === 'number' ? 'high' : f.type === 'boolean' ? 'maybe' : `${f.values[0]}-not` };
}
