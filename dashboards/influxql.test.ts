import { describe, expect, it } from 'vitest';
import { select, tagValues } from './influxql.js';

describe('typed InfluxQL builder', () => {
  it('writes the query Grafana runs in raw mode, with its macros and variables left in place', () => {
    expect(select('lighting').agg('mean', 'rate', 'rate', { times: 100 }).where('scope', 'district').matches('name', 'district').groupByTime().groupBy('name').toString()).toBe(
      `SELECT mean("rate") * 100 AS "rate" FROM "lighting" WHERE "scope" = 'district' AND "name" =~ /^$district$/ AND $timeFilter GROUP BY time($__interval), "name" fill(none)`,
    );
    expect(select('noise_station').agg('max', 'limit', 'peak limit', { plus: 15 }).where('period', 'night').groupBy('station').toString()).toBe(
      `SELECT max("limit") + 15 AS "peak limit" FROM "noise_station" WHERE "period" = 'night' AND $timeFilter GROUP BY "station"`,
    );
    expect(select('alerts').field('lat').tag('alertname').whereIn('alertname', ['CircuitDark', 'a.b']).fieldIs('summary', '=', "it's").orderByTimeDesc().limit(5).allTime().toString()).toBe(
      `SELECT "lat", "alertname" FROM "alerts" WHERE "alertname" =~ /^(CircuitDark|a\\.b)$/ AND "summary" = 'it\\'s' ORDER BY time DESC LIMIT 5`,
    );
    expect(tagValues('lighting', 'name', { tag: 'scope', value: 'district' })).toBe(`SHOW TAG VALUES FROM "lighting" WITH KEY = "name" WHERE "scope" = 'district'`);
    expect(() => select('nodes').toString()).toThrow(/selects nothing/);
  });

  it('rejects names the sink does not write, at compile time (checked by tsc on this file)', () => {
    const q = select('lighting');
    // @ts-expect-error misspelt field
    q.agg('last', 'rtae');
    // @ts-expect-error mean() of a boolean field
    q.agg('mean', 'compliant');
    // @ts-expect-error a tag value outside the closed set
    q.where('scope', 'county');
    // @ts-expect-error a tag of another measurement
    q.groupBy('well');
    // @ts-expect-error an unknown measurement
    select('lightning');
    expect(q.agg('last', 'compliant').toString()).toContain('last("compliant")');
  });
});
