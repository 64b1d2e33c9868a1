import { describe, expect, it } from 'vitest';
import { profileMeasurements } from '../processors/sinks/influxdb/profile.js';
import { defaultKinds } from '../core/kinds/modules.js';
import { NOISE_MEASUREMENTS } from '../core/kinds/noise/points.js';
import { LIGHTING_MEASUREMENTS } from '../core/kinds/streetlight/points.js';
import { PIPELINE_MEASUREMENTS } from '../processors/sinks/influxdb/points.js';
import { selectFrom, selector, tagValuesFrom } from './influxql.js';

const { select, tagValues } = selector({ ...LIGHTING_MEASUREMENTS, ...NOISE_MEASUREMENTS, ...PIPELINE_MEASUREMENTS });

describe('typed InfluxQL builder', () => {
  it('writes the query Grafana runs in raw mode, with its macros and variables left in place', () => {
    expect(
      select('lighting')
        .agg('mean', 'rate', 'rate', { times: 100 })
        .where('scope', 'district')
        .matches('name', 'district')
        .groupByTime()
        .groupBy('name')
        .toString(),
    ).toBe(
      `SELECT mean("rate") * 100 AS "rate" FROM "lighting" WHERE "scope" = 'district' AND "name" =~ /^$district$/ AND $timeFilter GROUP BY time($__interval), "name" fill(none)`,
    );
    expect(
      select('noise_station').agg('max', 'limit', 'peak limit', { plus: 15 }).where('period', 'night').groupBy('station').toString(),
    ).toBe(`SELECT max("limit") + 15 AS "peak limit" FROM "noise_station" WHERE "period" = 'night' AND $timeFilter GROUP BY "station"`);
    expect(
      select('alerts')
        .field('lat')
        .tag('alertname')
        .whereIn('alertname', ['CircuitDark', 'a.b'])
        .fieldIs('summary', '=', "it's")
        .orderByTimeDesc()
        .limit(5)
        .allTime()
        .toString(),
    ).toBe(
      `SELECT "lat", "alertname" FROM "alerts" WHERE "alertname" =~ /^(CircuitDark|a\\.b)$/ AND "summary" = 'it\\'s' ORDER BY time DESC LIMIT 5`,
    );
    expect(tagValues('lighting', 'name', { tag: 'scope', value: 'district' })).toBe(
      `SHOW TAG VALUES FROM "lighting" WITH KEY = "name" WHERE "scope" = 'district'`,
    );
    expect(() => select('nodes').toString()).toThrow(/selects nothing/);
  });

  it('rejects names the sink does not write, at compile time (checked by tsc on this file) and when the query is built', () => {
    const q = select('lighting');
    // @ts-expect-error misspelt field
    expect(() => q.agg('last', 'rtae')).toThrow(/no field rtae/);
    // @ts-expect-error mean() of a boolean field
    expect(() => q.agg('mean', 'compliant')).toThrow(/compliant is boolean, not a number/);
    // @ts-expect-error a tag value outside the closed set
    expect(() => q.where('scope', 'county')).toThrow(/scope is one of city, district, roadClass, not county/);
    // @ts-expect-error a tag of another measurement
    expect(() => q.groupBy('well')).toThrow(/no tag well/);
    // @ts-expect-error an unknown measurement
    expect(() => select('lightning')).toThrow(/no measurement lightning/);
    expect(q.agg('last', 'compliant').toString()).toContain('last("compliant")');
  });

  it("checks a run-time measurement (a profile kind's) against its schema when the query is built", () => {
    const manhole = profileMeasurements(defaultKinds().get('manhole')!.profile!);
    const node = manhole.manhole_node!;
    expect(
      selectFrom('manhole_node', node)
        .agg('last', 'open', 'open')
        .agg('max', 'secondsOpen', 'open for')
        .groupBy('node', 'district')
        .toString(),
    ).toBe(
      `SELECT last("open") AS "open", max("secondsOpen") AS "open for" FROM "manhole_node" WHERE $timeFilter GROUP BY "node", "district"`,
    );
    expect(() => selectFrom('manhole_node', node).agg('mean', 'open')).toThrow(/manhole_node.open is boolean, not a number/);
    expect(() => selectFrom('manhole_node', node).agg('mean', 'depthM')).toThrow(/no field depthM/);
    expect(() => selectFrom('manhole_node', node).where('scope', 'city')).toThrow(/no tag scope/);
    expect(() => selectFrom('manhole', manhole.manhole!).where('scope', 'lot')).toThrow(/scope is one of city, district, not lot/);
    expect(tagValuesFrom('manhole', manhole.manhole!, 'name', { tag: 'scope', value: 'district' })).toBe(
      `SHOW TAG VALUES FROM "manhole" WITH KEY = "name" WHERE "scope" = 'district'`,
    );
    expect(() => tagValuesFrom('manhole', manhole.manhole!, 'node')).toThrow(/no tag node/);
  });
});
