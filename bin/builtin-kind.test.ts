/**
 * A built-in kind is its module plus one line in the list: a throwaway `airquality` module (a test
 * fixture, test/kinds/airquality.ts) is added to the built-in kinds, and one start of the pipeline
 * carries its readings from MQTT to every place a kind reaches: ingest validation, its KPI section
 * in /api/v1/kpis (and the OpenAPI document), an alert, its `metrics.airquality` records, InfluxDB
 * points, and its dashboard, whose every query returns data from a real InfluxDB. Nothing in the
 * pipeline names the kind.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryTransport, NodeRegistry, parseJson, parseNodes, type Alert } from '../core/index.js';
import { BUILTIN_KINDS, kindCatalog } from '../core/kinds/modules.js';
import { allDashboards } from '../dashboards/provisioning.js';
import { influxdbFixture, INFLUXDB_FIXTURE_TIMEOUT_MS, type InfluxdbFixture } from '../infra/fixtures/influxdb.js';
import { until } from '../processors/sinks/alertmanager/testing.js';
import { testNow } from '../test/clock.js';
import { macros, runAll } from '../test/dashboard-queries.js';
import { metricValue, testConfig } from '../test/helpers.js';
import { select, type Row } from '../test/influxql.js';
import { airquality } from '../test/kinds/airquality.js';
import { publishAll } from '../test/publish.js';
import { startPipeline, type RunningPipeline } from './pipeline.js';

const kinds = kindCatalog([], [...BUILTIN_KINDS, airquality]);
const STATIONS = [
  { nodeId: 'AQ-1', kind: 'airquality', district: 'Lixia', lat: 36.67, lon: 117.06, station: 'Quancheng Square' },
  { nodeId: 'AQ-2', kind: 'airquality', district: 'Lixia', lat: 36.68, lon: 117.07, station: 'Baotu Spring' },
  { nodeId: 'AQ-3', kind: 'airquality', district: 'Shizhong', lat: 36.65, lon: 116.99, station: 'Jingqi Road' },
];
/** PM2.5 per station; AQ-3 is over the 75 ug/m3 line. */
const PM25: Record<string, number> = { 'AQ-1': 40, 'AQ-2': 60, 'AQ-3': 90 };

type Group = { nodes: number; reporting: number; meanPm25: number | null; maxPm25: number | null; stationsOver: number };
type Section = Group & { byDistrict: Record<string, Group> };

describe('a built-in kind added through the one list of modules', () => {
  let influx: InfluxdbFixture;
  let pipeline: RunningPipeline | undefined;

  beforeAll(async () => {
    influx = await influxdbFixture();
  }, INFLUXDB_FIXTURE_TIMEOUT_MS);
  afterAll(async () => {
    await pipeline?.close();
    await (await influxdbFixture().catch(() => null))?.release();
  });

  it('airquality: one reading from MQTT to its KPI section, metrics.airquality, InfluxDB and its dashboard', async () => {
    const transport = new MemoryTransport();
    const registry = new NodeRegistry(parseNodes(STATIONS, 'airquality test', 1, kinds), [], kinds);
    pipeline = await startPipeline({
      config: testConfig({
        EVAL_INTERVAL_MS: '200',
        ALERT_HOLD_S: '0',
        INFLUX_URL: influx.url,
        INFLUX_TOKEN: influx.token,
        INFLUX_ORG: influx.org,
        INFLUX_BUCKET: influx.bucket,
      }),
      registry,
      transport,
      logger: pino({ level: 'silent' }),
      clock: testNow,
    });
    const api = `http://127.0.0.1:${pipeline.httpPort}`;
    const get = async <T>(path: string) => (await (await fetch(`${api}${path}`)).json()) as T;
    // metrics.airquality as a reader of it sees it from now on (a section is written when it changes; the
    // in-process log drops what every group has read, so a reader reading afterwards could find nothing).
    const published: Array<{ ts: number; kpis: Section }> = [];
    const reader = await transport.consume({
      groupId: 'test-metrics-airquality',
      topics: ['metrics.airquality'],
      fromBeginning: true,
      onBatch: async (batch) => batch.records.forEach((r) => published.push(parseJson(r.value) as { ts: number; kpis: Section })),
    });

    // One reading per station, and one the kind's schema refuses (PM2.5 as text).
    const t0 = testNow() - 3_600_000;
    await publishAll(
      `mqtt://127.0.0.1:${pipeline.mqttPort}`,
      [
        ...STATIONS.map((s) => ({
          topic: `city/${s.district}/airquality/${s.nodeId}/telemetry`,
          payload: JSON.stringify({ ts: t0, seq: 1, pm25: PM25[s.nodeId] }),
        })),
        { topic: 'city/Lixia/airquality/AQ-1/telemetry', payload: JSON.stringify({ ts: t0 + 1000, pm25: 'hazy' }) },
      ],
      { clients: 1 },
    );

    // Its section in /api/v1/kpis, computed by its processor and merger: mean (40 + 60 + 90) / 3.
    const kpis = await until(
      'airquality KPIs',
      async () => {
        const k = await get<{ airquality?: Section }>('/api/v1/kpis');
        return k.airquality?.reporting === 3 && k;
      },
      30_000,
    );
    const section = kpis.airquality!;
    expect(section).toMatchObject({ nodes: 3, reporting: 3, maxPm25: 90, stationsOver: 1 });
    expect(section.meanPm25).toBeCloseTo(190 / 3, 10);
    expect(section.byDistrict).toEqual({
      Lixia: { nodes: 2, reporting: 2, meanPm25: 50, maxPm25: 60, stationsOver: 0 },
      Shizhong: { nodes: 1, reporting: 1, meanPm25: 90, maxPm25: 90, stationsOver: 1 },
    });
    // The OpenAPI document describes the section (the module's KPI schema is the response schema).
    const docs = await get<{
      paths: Record<string, { get: { responses: Record<string, { content: Record<string, { schema: unknown }> }> } }>;
    }>('/docs/json');
    const kpiSchema = docs.paths['/api/v1/kpis']!.get.responses['200']!.content['application/json']!.schema as {
      properties: Record<string, { properties?: Record<string, unknown> }>;
    };
    expect(Object.keys(kpiSchema.properties.airquality!.properties!)).toEqual(
      expect.arrayContaining(['meanPm25', 'maxPm25', 'stationsOver', 'byDistrict']),
    );
    // The node API filters on the kind and shows the station's attributes and latest reading.
    const nodes = await get<{ total: number }>('/api/v1/nodes?kind=airquality');
    expect(nodes.total).toBe(3);
    expect(await get<{ node: { station: string }; latest: { pm25: number } }>('/api/v1/nodes/AQ-3')).toMatchObject({
      node: { station: 'Jingqi Road' },
      latest: { pm25: 90 },
    });

    // Its alert, through the lifecycle like any other.
    const [alert] = await until(
      'AirQualityPoor',
      async () => {
        const items = (await get<{ items: Alert[] }>('/api/v1/alerts?state=firing')).items.filter((a) => a.alertname === 'AirQualityPoor');
        return items.length > 0 && items;
      },
      30_000,
    );
    expect(alert).toMatchObject({ severity: 'minor', labels: { kind: 'airquality', district: 'Shizhong', node: 'AQ-3' }, value: 90 });

    // Ingest judged the bad reading against the module's reading schema.
    const metrics = await (await fetch(`${api}/metrics`)).text();
    expect(metricValue(metrics, 'citybrain_readings_rejected_total', { reason: 'bad-schema' })).toBe(1);
    expect(metricValue(metrics, 'citybrain_readings_accepted_total', { kind: 'airquality' })).toBe(3);

    // metrics.airquality carries the section.
    const doc = await until('metrics.airquality with every station', async () => published.find((d) => d.kpis?.reporting === 3), 30_000);
    await reader.stop();
    expect(doc.kpis).toMatchObject({ nodes: 3, maxPm25: 90, stationsOver: 1 });

    // InfluxDB: its readings and its KPIs, as the module writes them.
    const q = (query: string) => select(influx.url, influx.database, query);
    await until('airquality readings in InfluxDB', async () => (await q(`SELECT pm25 FROM airquality_reading`)).length === 3, 30_000);
    const [city] = await until(
      'airquality KPIs in InfluxDB',
      async () => {
        const rows = await q(`SELECT meanPm25, stationsOver FROM airquality WHERE scope = 'city' AND stationsOver = 1`);
        return rows.length > 0 && rows;
      },
      30_000,
    );
    expect(city!.meanPm25).toBeCloseTo(190 / 3, 10);

    // Its dashboard is provisioned with the others, and every query of it returns data.
    const board = allDashboards(pipeline.registry.kinds).filter((d) => d.uid === 'citybrain-airquality');
    expect(board).toHaveLength(1);
    const run = async (query: string): Promise<Row[] | Error> => q(query).catch((error: unknown) => error as Error);
    const fill = macros(`time >= ${t0 - 3_600_000}ms and time <= ${Date.now() + 3_600_000}ms`);
    const result = await runAll(board, run, fill);
    expect([...result.broken, ...result.empty], `${result.executed} queries run`).toEqual([]);
    expect(result.executed).toBe(2);
  }, 120_000);
});
