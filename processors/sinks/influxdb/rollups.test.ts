/** Retention policies and continuous queries against a real InfluxDB 1.x (see infra/fixtures/influxdb.ts). */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { influxdbFixture, INFLUXDB_FIXTURE_TIMEOUT_MS } from '../../../infra/fixtures/influxdb.js';
import { influxql } from '../../../infra/influxdb/server.js';
import { MemoryTransport, NodeRegistry, PipelineMetrics, topicSpecs } from '../../../core/index.js';
import { select } from '../../../test/influxql.js';
import { startInfluxSink } from './index.js';
import {
  continuousQueryName,
  ensureRollups,
  influxVersion,
  isInflux1,
  rollupBackfillQuery,
  kindRollups,
  PIPELINE_ROLLUPS,
  ROLLUPS,
  type RollupInterval,
} from './rollups.js';
import { defaultKinds, kindCatalog } from '../../../core/kinds/modules.js';

/** The built-in kinds' downsampled measurements. */
const BUILTIN_ROLLUPS = kindRollups(kindCatalog());

beforeAll(
  () =>
    influxdbFixture().then(
      () => {},
      () => {},
    ),
  INFLUXDB_FIXTURE_TIMEOUT_MS,
);
afterAll(async () => (await influxdbFixture().catch(() => null))?.release());

let dbNo = 0;
async function freshDatabase() {
  const influx = await influxdbFixture();
  const database = `rolluptest_${process.pid}_${++dbNo}`;
  await influxql(influx.url, `CREATE DATABASE "${database}"`, { token: influx.token });
  return { ...influx, database, bucket: `${database}/autogen` };
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

async function write(url: string, token: string, database: string, lines: string[]): Promise<void> {
  const response = await fetch(`${url}/api/v2/write?bucket=${encodeURIComponent(`${database}/autogen`)}&precision=ms`, {
    method: 'POST',
    headers: { authorization: `Token ${token}` },
    body: lines.join('\n'),
  });
  expect(response.status, await response.text()).toBe(204);
}

describe('InfluxDB 1.x rollups (retention policies, continuous queries)', () => {
  it('ensureRollups is idempotent; SHOW lists the RPs and CQs; the CQ query run by hand writes hourly/daily mean/min/max', async () => {
    const influx = await freshDatabase();
    expect(isInflux1(await influxVersion(influx.url))).toBe(true);
    const o = { url: influx.url, token: influx.token, database: influx.database, measurements: BUILTIN_ROLLUPS };

    const first = await ensureRollups(o);
    expect(first.created).toEqual(
      expect.arrayContaining([
        'retention policy rollup_1h (730d)',
        'retention policy rollup_1d (3650d)',
        'continuous query cq_lighting_1h',
        'continuous query cq_noise_station_1d',
      ]),
    );
    expect(first.altered).toEqual(['retention policy autogen (30d), was 0s']);
    const second = await ensureRollups(o);
    expect(second.created).toEqual([]);
    expect(second.altered).toEqual([]);
    expect(second.unchanged).toHaveLength(3 + 10);

    const rps = Object.fromEntries(
      (await select(influx.url, influx.database, `SHOW RETENTION POLICIES ON "${influx.database}"`)).map((r) => [r.name, r]),
    );
    expect(rps.autogen).toMatchObject({ duration: '720h0m0s', default: true });
    expect(rps.rollup_1h).toMatchObject({ duration: '17520h0m0s', default: false });
    expect(rps.rollup_1d).toMatchObject({ duration: '87600h0m0s', default: false });

    const cqJson = (await influxql(influx.url, 'SHOW CONTINUOUS QUERIES', { token: influx.token })) as {
      results: Array<{ series?: Array<{ name: string; values?: string[][] }> }>;
    };
    const cqs = cqJson.results[0]!.series!.find((s) => s.name === influx.database)!.values!.map((v) => v[0]);
    const expected = Object.keys({ ...PIPELINE_ROLLUPS, ...BUILTIN_ROLLUPS }).flatMap((m) =>
      (Object.keys(ROLLUPS) as RollupInterval[]).map((i) => continuousQueryName(m, i)),
    );
    expect(cqs.sort()).toEqual(expected.sort());

    // Raw points over two full hours of yesterday (within the 30 d raw RP), two series.
    const day0 = Math.floor(Date.now() / DAY) * DAY - DAY;
    const h0 = day0 + 10 * HOUR;
    const lines: string[] = [];
    const rates = [0.5, 0.7, 0.9, 1.0]; // per 15 min
    for (let h = 0; h < 2; h++) {
      rates.forEach((r, q) => {
        const t = h0 + h * HOUR + q * 15 * 60_000;
        lines.push(`lighting,scope=city,name=city rate=${r - h * 0.1},lit=${10 + q + h},expected=20,scheduledOn=true ${t}`);
        lines.push(`lighting,scope=district,name=D1 rate=${r / 2},lit=${q},expected=4 ${t}`);
      });
    }
    lines.push(
      `noise_station,station=s1,district=D1,zoneClass=residential,period=night leq=55,limit=50,coverage=1,complete=true,exceeds=true ${h0}`,
    );
    lines.push(
      `noise_station,station=s1,district=D1,zoneClass=residential,period=night leq=61,limit=50,coverage=0.5,complete=true,exceeds=true ${h0 + HOUR}`,
    );
    await write(influx.url, influx.token, influx.database, lines);

    for (const m of ['lighting', 'noise_station'] as const) {
      await influxql(influx.url, rollupBackfillQuery(o, m, '1h', day0, day0 + DAY), { token: influx.token, db: influx.database });
      await influxql(influx.url, rollupBackfillQuery(o, m, '1d', day0, day0 + DAY), { token: influx.token, db: influx.database });
    }
    const hourly = await select(influx.url, influx.database, `SELECT * FROM "rollup_1h"."lighting_1h" WHERE "name" = 'city' ORDER BY time`);
    expect(hourly).toHaveLength(2);
    expect(hourly[0]).toMatchObject({
      time: h0,
      scope: 'city',
      name: 'city',
      rate_min: 0.5,
      rate_max: 1,
      lit_mean: 11.5,
      lit_min: 10,
      lit_max: 13,
      expected_mean: 20,
    });
    expect(hourly[0]!.rate_mean as number).toBeCloseTo(0.775, 9);
    expect(hourly[1]!.rate_mean as number).toBeCloseTo(0.675, 9);
    expect(hourly[0]).not.toHaveProperty('scheduledOn_mean'); // booleans are not aggregated
    const district = await select(influx.url, influx.database, `SELECT rate_mean FROM "rollup_1h"."lighting_1h" WHERE "name" = 'D1'`);
    expect(district.map((r) => r.rate_mean as number)).toEqual([expect.closeTo(0.3875, 9), expect.closeTo(0.3875, 9)]);
    const daily = await select(influx.url, influx.database, `SELECT * FROM "rollup_1d"."lighting_1d" WHERE "name" = 'city'`);
    expect(daily).toHaveLength(1);
    expect(daily[0]).toMatchObject({ time: day0, rate_min: 0.4, rate_max: 1 });
    expect(daily[0]!.rate_mean as number).toBeCloseTo(0.725, 9);
    const noise = await select(influx.url, influx.database, `SELECT leq_mean, leq_max, coverage_min FROM "rollup_1d"."noise_station_1d"`);
    expect(noise).toEqual([{ time: day0, leq_mean: 58, leq_max: 61, coverage_min: 0.5 }]);
  });

  it('the sink sets them up at start on 1.x (in the background, logged)', async () => {
    const influx = await freshDatabase();
    const transport = new MemoryTransport({ retryDelayMs: 100 });
    await transport.ensureTopics(topicSpecs(defaultKinds(), 1));
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const stage = await startInfluxSink({
      config: { INFLUX_URL: influx.url, INFLUX_TOKEN: influx.token, INFLUX_ORG: influx.org, INFLUX_BUCKET: influx.bucket },
      registry: new NodeRegistry([], [], defaultKinds()),
      transport,
      metrics: new PipelineMetrics({ defaultMetrics: false }),
      logger,
    });
    try {
      await stage.sink.rollupsReady;
      const rps = (await select(influx.url, influx.database, `SHOW RETENTION POLICIES ON "${influx.database}"`)).map((r) => r.name);
      expect(rps.sort()).toEqual(['autogen', 'rollup_1d', 'rollup_1h']);
      expect(lines.join('\n')).toContain('InfluxDB 1.x rollups ready');
      expect(lines.join('\n')).toContain('continuous query cq_parking_1h');
      // The profile kinds' KPI measurements (from the catalog) are downsampled too.
      expect(lines.join('\n')).toMatch(/"created":\[[^\]]*continuous query cq_waterlogging_1h/);
      const cqJson = (await influxql(influx.url, 'SHOW CONTINUOUS QUERIES', { token: influx.token })) as {
        results: Array<{ series?: Array<{ name: string; values?: string[][] }> }>;
      };
      const cqs = cqJson.results[0]!.series!.find((x) => x.name === influx.database)!.values!.map((v) => v[0]);
      expect(cqs).toEqual(expect.arrayContaining(['cq_waterlogging_1h', 'cq_waterlogging_1d', 'cq_manhole_1h', 'cq_manhole_1d']));
    } finally {
      await stage.close();
      await transport.close();
    }
  });
});
