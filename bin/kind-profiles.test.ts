/**
 * A city adds a kind without touching the pipeline: a `tank` profile that ships nowhere, written by
 * this test into a directory named by KIND_PROFILES, with its nodes in the REGISTRY file. One
 * start of the pipeline (as `city-brain start` does it, from config alone), readings over MQTT, and
 * the kind is everywhere a built-in kind is: ingest validation, KPIs in /api/v1/kpis, an alert,
 * its `metrics.tank` topic, InfluxDB points, and a generated dashboard whose every query returns
 * data from a real InfluxDB.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryTransport, parseJson, type Alert } from '../core/index.js';
import { allDashboards } from '../dashboards/provisioning.js';
import { profileDashboardUid } from '../dashboards/boards/profile.js';
import { influxdbFixture, INFLUXDB_FIXTURE_TIMEOUT_MS, type InfluxdbFixture } from '../infra/fixtures/influxdb.js';
import { until } from '../processors/sinks/alertmanager/testing.js';
import { testNow } from '../test/clock.js';
import { macros, runAll } from '../test/dashboard-queries.js';
import { metricValue, testConfig } from '../test/helpers.js';
import { select, type Row } from '../test/influxql.js';
import { TANK_PROFILE } from '../test/profiles.js';
import { publishAll } from '../test/publish.js';
import { startPipeline, type RunningPipeline } from './pipeline.js';

const NODES = [
  { nodeId: 'TK-1', kind: 'tank', district: 'Lixia', lat: 36.67, lon: 117.06, site: 'North works', highM: 8 },
  { nodeId: 'TK-2', kind: 'tank', district: 'Shizhong', lat: 36.65, lon: 116.99, site: 'East works' },
  { nodeId: 'TK-3', kind: 'tank', district: 'Shizhong', lat: 36.64, lon: 117.0, site: 'Quarry' },
];
/** Latest levels; TK-1 is over its own 8 m line, the others under the default 9 m. */
const LEVELS: Record<string, number> = { 'TK-1': 8.5, 'TK-2': 5, 'TK-3': 6 };
/** One pump in each state and both alarm states, so each value's panel query has rows. */
const PUMPS: Record<string, string> = { 'TK-1': 'fault', 'TK-2': 'idle', 'TK-3': 'running' };

describe('a kind added by a profile file, with no change to the pipeline', () => {
  let influx: InfluxdbFixture;
  let pipeline: RunningPipeline | undefined;

  beforeAll(async () => {
    influx = await influxdbFixture();
  }, INFLUXDB_FIXTURE_TIMEOUT_MS);
  afterAll(async () => {
    await pipeline?.close();
    await (await influxdbFixture().catch(() => null))?.release();
  });

  it('tank: validated at ingest, KPIs and an alert in the API, metrics.tank, InfluxDB points, a dashboard whose every query has data', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'citybrain-kinds-'));
    writeFileSync(join(dir, 'tank.yaml'), TANK_PROFILE);
    const registryFile = join(mkdtempSync(join(tmpdir(), 'citybrain-registry-')), 'city.json');
    writeFileSync(registryFile, JSON.stringify({ nodes: NODES }));
    const transport = new MemoryTransport();
    pipeline = await startPipeline({
      config: testConfig({
        KIND_PROFILES: dir,
        REGISTRY: registryFile,
        EVAL_INTERVAL_MS: '200',
        INFLUX_URL: influx.url,
        INFLUX_TOKEN: influx.token,
        INFLUX_ORG: influx.org,
        INFLUX_BUCKET: influx.bucket,
      }),
      transport,
      logger: pino({ level: 'silent' }),
      clock: testNow,
    });
    expect(pipeline.registry.kinds.names()).toContain('tank');
    const api = `http://127.0.0.1:${pipeline.httpPort}`;
    const get = async <T>(path: string) => (await (await fetch(`${api}${path}`)).json()) as T;
    // metrics.tank as a reader of it sees it from now on (a section is written when it changes; the
    // in-process log drops what every group has read, so a reader reading afterwards could find nothing).
    const published: Array<{ ts: number; kpis?: Tank }> = [];
    const reader = await transport.consume({
      groupId: 'test-metrics-tank',
      topics: ['metrics.tank'],
      fromBeginning: true,
      onBatch: async (batch) => batch.records.forEach((r) => published.push(parseJson(r.value) as { ts: number; kpis?: Tank })),
    });

    // Two readings a minute apart per tank, and one the profile refuses (12 m is over the field's 10 m).
    const t0 = testNow() - 3_600_000;
    const readings = [0, 1].flatMap((i) =>
      NODES.map((n) => ({
        topic: `city/${n.district}/tank/${n.nodeId}/telemetry`,
        payload: JSON.stringify({
          ts: t0 + i * 60_000,
          seq: i,
          levelM: LEVELS[n.nodeId],
          pump: PUMPS[n.nodeId],
          alarm: n.nodeId === 'TK-1',
        }),
      })),
    );
    await publishAll(
      `mqtt://127.0.0.1:${pipeline.mqttPort}`,
      [...readings, { topic: 'city/Lixia/tank/TK-1/telemetry', payload: JSON.stringify({ ts: t0 + 90_000, levelM: 12 }) }],
      { clients: 1 },
    );

    type Tank = {
      title: string;
      nodes: number;
      reporting: number;
      aggregates: Record<string, number | null>;
      byDistrict: Record<string, { nodes: number; aggregates: Record<string, number | null> }>;
      list: Array<{ nodeId: string; rules: string[] }>;
    };
    const kpis = await until(
      'tank KPIs of both minutes',
      async () => {
        const k = await get<{ evaluatedAt: number; tank?: Tank }>('/api/v1/kpis');
        return k.tank?.reporting === 3 && (k.tank.aggregates.secondsHigh ?? 0) >= 60 && k;
      },
      30_000,
    );
    const tank = kpis.tank!;
    expect(tank).toMatchObject({ title: 'Water tanks', nodes: 3, reporting: 3 });
    // mean (8.5 + 5 + 6) / 3 = 6.5; max 8.5; one tank over its line, for the minute between its readings.
    expect(tank.aggregates).toMatchObject({ meanLevelM: 6.5, maxLevelM: 8.5, tanksHigh: 1, secondsHigh: 60 });
    expect(tank.byDistrict.Shizhong).toMatchObject({ nodes: 2, aggregates: { meanLevelM: 5.5, maxLevelM: 6, tanksHigh: 0 } });
    expect(tank.list.map((r) => [r.nodeId, r.rules])).toEqual([['TK-1', ['TankHigh/major']]]);

    const [alert] = await until(
      'TankHigh',
      async () => {
        const items = (await get<{ items: Alert[] }>('/api/v1/alerts?state=firing')).items.filter((a) => a.alertname === 'TankHigh');
        return items.length > 0 && items;
      },
      30_000,
    );
    expect(alert).toMatchObject({
      severity: 'major',
      labels: { kind: 'tank', district: 'Lixia', node: 'TK-1' },
      summary: 'North works: tank TK-1 at 8.5 m',
      lat: 36.67,
      lon: 117.06,
    });

    // Ingest judged the bad reading against the profile's schema.
    const metrics = await (await fetch(`${api}/metrics`)).text();
    expect(metricValue(metrics, 'citybrain_readings_rejected_total', { reason: 'bad-schema' })).toBe(1);
    expect(metricValue(metrics, 'citybrain_readings_accepted_total', { kind: 'tank' })).toBe(6);

    // metrics.tank carries the same section (written as the API shows it: wait for the write).
    const doc = await until(
      'metrics.tank with both minutes',
      async () => published.find((d) => d.kpis?.reporting === 3 && d.kpis.aggregates.tanksHigh === 1),
      30_000,
    );
    await reader.stop();
    expect(doc.kpis).toMatchObject({ title: 'Water tanks', nodes: 3, aggregates: { meanLevelM: 6.5, maxLevelM: 8.5, tanksHigh: 1 } });

    // InfluxDB: the readings and the city's aggregates.
    const q = (query: string) => select(influx.url, influx.database, query);
    await until(
      'tank readings in InfluxDB',
      async () => (await q(`SELECT levelM FROM tank_reading WHERE node = 'TK-1'`)).length === 2,
      30_000,
    );
    const [city] = await until(
      'tank aggregates in InfluxDB',
      async () => {
        const rows = await q(`SELECT meanLevelM, tanksHigh FROM tank WHERE scope = 'city' AND meanLevelM = 6.5`);
        return rows.length > 0 && rows;
      },
      30_000,
    );
    expect(city).toMatchObject({ meanLevelM: 6.5, tanksHigh: 1 });

    // Its dashboard is generated from the profile, and every query of it returns data.
    const board = allDashboards(pipeline.registry.kinds).filter((d) => d.uid === profileDashboardUid('tank'));
    expect(board).toHaveLength(1);
    expect(board[0]!.title).toContain('Water tanks');
    const run = async (query: string): Promise<Row[] | Error> => q(query).catch((error: unknown) => error as Error);
    const fill = macros(`time >= ${t0 - 3_600_000}ms and time <= ${Date.now() + 3_600_000}ms`);
    const result = await until(
      'every query of the tank board with data',
      async () => {
        const r = await runAll(board, run, fill);
        return r.broken.length + r.empty.length === 0 && r;
      },
      30_000,
    ).catch(async () => runAll(board, run, fill));
    expect([...result.broken, ...result.empty], `${result.executed} queries run`).toEqual([]);
    expect(result.executed).toBeGreaterThan(10);
  }, 120_000);
});
