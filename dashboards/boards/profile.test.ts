import { describe, expect, it } from 'vitest';
import { describeWhen, grafanaUnit, profileDashboard, profileDashboardUid, rowSpans } from './profile.js';
import { defaultKinds } from '../../core/kinds/modules.js';

describe("a profile kind's dashboard", () => {
  it("has a uid from the kind name within Grafana's 40 characters, stable and distinct for long names", () => {
    expect(profileDashboardUid('waterlogging')).toBe('citybrain-waterlogging');
    const long = profileDashboardUid('a'.repeat(32));
    expect(long).toHaveLength(40);
    expect(long).toBe(profileDashboardUid('a'.repeat(32)));
    expect(long).not.toBe(profileDashboardUid(`${'a'.repeat(31)}b`));
  });

  it('lays panels out in rows that fill the 24 columns', () => {
    expect(rowSpans(5, 6)).toEqual([5, 5, 5, 5, 4]);
    expect(rowSpans(6, 6)).toEqual([4, 4, 4, 4, 4, 4]);
    expect(rowSpans(8, 6)).toEqual([4, 4, 4, 4, 4, 4, 12, 12]);
    expect(rowSpans(3, 2)).toEqual([12, 12, 24]);
  });

  it('shows profile units as Grafana units, others as a suffix; conditions in words', () => {
    expect([grafanaUnit('m'), grafanaUnit('deg'), grafanaUnit('mm/h'), grafanaUnit(undefined)]).toEqual([
      'lengthm',
      'degree',
      'suffix: mm/h',
      'none',
    ]);
    expect(
      describeWhen({
        any: [
          { field: 'open', op: 'eq', value: true },
          { field: 'tiltDeg', op: 'gt', value: 15 },
        ],
      }),
    ).toBe('open = true or tiltDeg > 15');
    expect(describeWhen({ field: 'depthM', op: 'gt', value: { attribute: 'closureDepthM' } })).toBe('depthM > closureDepthM (per node)');
  });

  it('counts enum values per value, one target each', () => {
    const manhole = defaultKinds().get('manhole')!.profile!;
    const board = profileDashboard({
      ...manhole,
      kind: 'valve',
      title: 'Valves',
      fields: { state: { type: 'enum', values: ['open', 'shut', 'stuck'], required: true } },
      aggregates: [],
      alerts: [],
    });
    const panel = board.panels!.find((p) => 'title' in p && p.title === 'state: readings') as unknown as {
      targets: Array<{ refId: string; query: string }>;
    };
    expect(panel.targets.map((t) => t.refId)).toEqual(['A', 'B', 'C']);
    expect(panel.targets[2]!.query).toBe(
      `SELECT count("state") AS "stuck" FROM "valve_reading" WHERE "district" =~ /^$district$/ AND "state" = 'stuck' AND $timeFilter GROUP BY time($__interval) fill(none)`,
    );
  });
});
