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
import type { ProfileTarget } from '../../../simulators/models/context.js';
import { profileModel, type ProfileTargets } from '../../../simulators/models/profile.js';
import { shuffled } from '../../../simulators/picks.js';
import type { AnyKindModule, KindScenarios } from '../module.js';
import { keyedList } from '../common.js';
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
    metricsLists: [keyedList('list', 'node', 'nodeId')],
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
    scenarios: profileScenarios(profile),
    sample(node, ts, r) {
      // Its normal values, or (1 reading in 20) its first scenario's values.
      const scenario = normalState(ts);
      const [name, sc] = Object.entries(profile.simulate.scenarios)[0] ?? [];
      if (name && sc && r < 0.05)
        scenario.effects = new Map([[profile.kind, new Map([[node.nodeId, { scenario: name, values: sc.values, rampS: 0 }]])]]);
      const { ts: _ts, ...fields } = profileModel(node, profile, ts, { seed: 7, scenario });
      return fields;
    },
    violate: (reading, variant) => violateProfile(profile, reading, variant),
    profile,
  };
}

/**
 * The profile's `simulate.scenarios`: each moves its `share` of the kind's nodes (at least one)
 * to its values over `rampS`; `demo` puts one node in each. A node stays in the first scenario
 * that moves it.
 */
function profileScenarios(profile: KindProfile): KindScenarios<string, ProfileTargets, Record<string, never>> {
  const scenarios = Object.entries(profile.simulate.scenarios);
  const descriptions: Record<string, string> = {};
  for (const [name, sc] of scenarios)
    descriptions[name] =
      `${sc.description ?? 'profile scenario'} (${Math.round(sc.share * 1000) / 10} % of the nodes${sc.rampS > 0 ? `, reached over ${sc.rampS} s` : ''})`;
  if (scenarios.length > 0) descriptions.demo = 'one node in each of its scenarios';
  return {
    descriptions,
    tuning: {},
    build(parts, nodes, rand) {
      const targets = new Map<string, ProfileTarget>();
      const target = (nodeId: string, scenario: string) => {
        const sc = profile.simulate.scenarios[scenario]!;
        if (!targets.has(nodeId)) targets.set(nodeId, { scenario, values: sc.values, rampS: sc.rampS });
      };
      for (const part of parts) {
        const sc = profile.simulate.scenarios[part];
        if (sc) for (const n of shuffled(nodes, rand).slice(0, Math.max(1, Math.round(nodes.length * sc.share)))) target(n.nodeId, part);
        if (part === 'demo') scenarios.forEach(([scenario], i) => nodes[i] && target(nodes[i].nodeId, scenario));
      }
      return targets;
    },
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
