/**
 * The two shipped profile kinds end to end, as a city would run them: readings over MQTT into the
 * pipeline (embedded log, then Apache Kafka), KPIs and alerts in the API, alerts in a real
 * Alertmanager with the shipped routing, readings and aggregates in a real InfluxDB. Nothing in the
 * pipeline knows these kinds by name: they come from core/kinds/profiles/*.yaml.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeRegistry, parseNodes, type Alert } from '../core/index.js';
import { renderAlertmanagerConfig } from '../dashboards/alertmanager.js';
import {
  alertmanagerFixture,
  ALERTMANAGER_FIXTURE_TIMEOUT_MS,
  releaseAlertmanagers,
  type AlertmanagerFixture,
} from '../infra/fixtures/alertmanager.js';
import { influxdbFixture, INFLUXDB_FIXTURE_TIMEOUT_MS, type InfluxdbFixture } from '../infra/fixtures/influxdb.js';
import { kafkaFixture } from '../infra/fixtures/kafka.js';
import { recorder, until } from '../processors/sinks/alertmanager/testing.js';
import { testNow } from '../test/clock.js';
import { testConfig } from '../test/helpers.js';
import { select } from '../test/influxql.js';
import { publishAll } from '../test/publish.js';
import { startPipeline, type RunningPipeline } from './pipeline.js';
import { defaultKinds } from '../core/kinds/modules.js';

interface GettableAlert {
  labels: Record<string, string>;
  status: { state: 'active' | 'suppressed' | 'unprocessed' };
  receivers: Array<{ name: string }>;
}

const STEP_MS = 30_000;

/** Two waterlogging points and two manhole covers in two districts; ids carry the run's name (one Alertmanager serves both runs). */
function city(run: string): NodeRegistry {
  const nodes = parseNodes(
    [
      {
        nodeId: `WL-${run}-1`,
        kind: 'waterlogging',
        district: 'Lixia',
        lat: 36.67,
        lon: 117.06,
        point: 'Lishan Road underpass',
        road: 'Lishan Road',
        underpass: true,
      },
      {
        nodeId: `WL-${run}-2`,
        kind: 'waterlogging',
        district: 'Shizhong',
        lat: 36.65,
        lon: 116.99,
        point: 'Jingqi Road low point',
        road: 'Jingqi Road',
      },
      { nodeId: `MH-${run}-1`, kind: 'manhole', district: 'Lixia', lat: 36.66, lon: 117.05, road: 'Quancheng Road' },
      { nodeId: `MH-${run}-2`, kind: 'manhole', district: 'Shizhong', lat: 36.64, lon: 117.0, road: 'Jingshi Road', network: 'sewer' },
    ],
    'profile-kinds test',
    1,
    defaultKinds(),
  );
  return new NodeRegistry(nodes, [], defaultKinds());
}

describe('profile kinds (waterlogging, manhole) through the pipeline', () => {
  let am: AlertmanagerFixture;
  let influx: InfluxdbFixture;
  let webhook: Awaited<ReturnType<typeof recorder>>;
  let pipeline: RunningPipeline | undefined;

  beforeAll(
    async () => {
      webhook = await recorder();
      am = await alertmanagerFixture({
        config: renderAlertmanagerConfig({
          webhookUrl: (r) => `${webhook.url}/${r}`,
          groupWait: '1s',
          groupInterval: '1s',
          repeatInterval: '1h',
          resolveTimeout: '1m',
        }),
      });
      influx = await influxdbFixture();
    },
    Math.max(ALERTMANAGER_FIXTURE_TIMEOUT_MS, INFLUXDB_FIXTURE_TIMEOUT_MS),
  );
  afterAll(async () => {
    await pipeline?.close();
    await releaseAlertmanagers();
    await webhook?.close();
    await (await influxdbFixture().catch(() => null))?.release();
    await (await kafkaFixture().catch(() => null))?.release();
  });

  for (const run of ['embedded', 'kafka'] as const) {
    it(`${run}: 0.20 m held past 2 minutes is one RoadWaterlogging until below 0.10 m; an opened cover is ManholeCoverOpen at once; KPIs, Alertmanager and InfluxDB agree`, async () => {
      const registry = city(run);
      const kafka: Record<string, string> = run === 'kafka' ? { KAFKA_BROKERS: (await kafkaFixture()).brokers.join(',') } : {};
      pipeline = await startPipeline({
        config: testConfig({
          ...kafka,
          ALERTMANAGER_URL: am.url,
          INFLUX_URL: influx.url,
          INFLUX_TOKEN: influx.token,
          INFLUX_ORG: influx.org,
          INFLUX_BUCKET: influx.bucket,
          EVAL_INTERVAL_MS: '200',
          ALERT_RESOLVE_HOLD_S: '0',
        }),
        registry,
        logger: pino({ level: 'silent' }),
        clock: testNow,
      });
      const mqttUrl = `mqtt://127.0.0.1:${pipeline.mqttPort}`;
      const api = `http://127.0.0.1:${pipeline.httpPort}`;
      const get = async <T>(path: string) => (await (await fetch(`${api}${path}`)).json()) as T;
      const alerts = async (name: string) => (await get<{ items: Alert[] }>('/api/v1/alerts')).items.filter((a) => a.alertname === name);
      const inAlertmanager = async (name: string) =>
        ((await (await fetch(`${am.url}/api/v2/alerts`)).json()) as GettableAlert[]).filter(
          (a) => a.labels.alertname === name && a.labels.node?.includes(`-${run}-`),
        );

      // Event time starts an hour before the test clock's now: nothing lies in the future.
      const t0 = testNow() - 3_600_000;
      let step = 0;
      const ts = () => t0 + step * STEP_MS;
      /** One step of every node: depth of point 1, cover 2 open or not. */
      const publishStep = async (depthM: number, coverOpen: boolean) => {
        const [wl1, wl2, mh1, mh2] = [...registry.all()];
        await publishAll(
          mqttUrl,
          [
            {
              topic: `city/Lixia/waterlogging/${wl1!.nodeId}/telemetry`,
              payload: JSON.stringify({ ts: ts(), seq: step, depthM, rainMmPerH: 35 }),
            },
            {
              topic: `city/Shizhong/waterlogging/${wl2!.nodeId}/telemetry`,
              payload: JSON.stringify({ ts: ts(), seq: step, depthM: 0.01 }),
            },
            {
              topic: `city/Lixia/manhole/${mh1!.nodeId}/telemetry`,
              payload: JSON.stringify({ ts: ts(), seq: step, open: false, tiltDeg: 1 }),
            },
            {
              topic: `city/Shizhong/manhole/${mh2!.nodeId}/telemetry`,
              payload: JSON.stringify({ ts: ts(), seq: step, open: coverOpen, tiltDeg: coverOpen ? 30 : 1, waterBelowM: 2.2 }),
            },
          ],
          { clients: 1 },
        );
        step++;
      };
      const evaluatedThrough = (t: number) =>
        until(
          `an evaluation at ${new Date(t).toISOString()}`,
          async () => (await get<{ evaluatedAt: number }>('/api/v1/kpis')).evaluatedAt >= t,
          30_000,
        );

      // 0.20 m for 90 s of event time: past the 0.15 m line but not for 2 minutes yet.
      for (let i = 0; i < 4; i++) await publishStep(0.2, false);
      type Section = {
        nodes: number;
        reporting: number;
        aggregates: Record<string, number | null>;
        byDistrict: Record<string, { aggregates: Record<string, number | null> }>;
      };
      // An evaluation that has every reading so far (each log partition's share is evaluated as it comes).
      const early = await until(
        'KPIs with all four steps',
        async () => {
          const k = await get<{ waterlogging: Section }>('/api/v1/kpis');
          return k.waterlogging.reporting === 2 && (k.waterlogging.aggregates.secondsOver15cm ?? 0) >= 90 && k;
        },
        30_000,
      );
      expect(await alerts('RoadWaterlogging')).toEqual([]);
      expect(early.waterlogging).toMatchObject({ nodes: 2, reporting: 2 });
      // Over the line from the first reading to the fourth: 90 s.
      expect(early.waterlogging.aggregates).toMatchObject({ maxDepthM: 0.2, pointsOver15cm: 1, pointsOverClosure: 0, secondsOver15cm: 90 });
      expect(early.waterlogging.aggregates.meanDepthM).toBeCloseTo((0.2 + 0.01) / 2, 10);
      expect(early.waterlogging.byDistrict.Lixia!.aggregates.maxDepthM).toBe(0.2);
      // The node API knows the kind: the list filters on it, a node shows its latest values.
      const points = await get<{ total: number; items: Array<{ node: { nodeId: string; point: string; closureDepthM: number } }> }>(
        '/api/v1/nodes?kind=waterlogging',
      );
      expect(points.total).toBe(2);
      expect(points.items[0]!.node).toMatchObject({ nodeId: `WL-${run}-1`, point: 'Lishan Road underpass', closureDepthM: 0.3 });
      const one = await get<{ latest?: Record<string, unknown>; health: { online: boolean } }>(`/api/v1/nodes/WL-${run}-1`);
      expect(one.latest).toMatchObject({ depthM: 0.2, rainMmPerH: 35 });
      expect(one.health.online).toBe(true);

      // Held on: exactly one RoadWaterlogging (major), with the point's district, in the API and in Alertmanager.
      // The hold is judged on the data's clock, so the data moves it on: a step at a time until it fires.
      const firing = async () => {
        const list = await alerts('RoadWaterlogging');
        return list.length > 0 && list;
      };
      while (step < 20 && !(await firing())) {
        await publishStep(0.2, false);
        await evaluatedThrough(ts() - STEP_MS);
      }
      const fired = await until('RoadWaterlogging firing', firing, 30_000);
      expect(fired).toHaveLength(1);
      expect(fired[0]).toMatchObject({
        severity: 'major',
        state: 'firing',
        labels: { kind: 'waterlogging', district: 'Lixia', node: `WL-${run}-1` },
      });
      expect(fired[0]!.firedAt - fired[0]!.startsAt).toBeGreaterThanOrEqual(120_000);
      expect(fired[0]!.summary).toContain('Lishan Road underpass');
      const inAm = await until(
        'RoadWaterlogging in Alertmanager',
        async () => {
          const list = await inAlertmanager('RoadWaterlogging');
          return list.length > 0 && list;
        },
        30_000,
      );
      expect(inAm).toHaveLength(1);
      expect(inAm[0]!.labels).toMatchObject({ kind: 'waterlogging', district: 'Lixia', severity: 'major' });

      // A cover opens: ManholeCoverOpen (critical) at the next evaluation, no hold.
      const opened = ts();
      await publishStep(0.12, true);
      const cover = await until(
        'ManholeCoverOpen firing',
        async () => {
          const list = await alerts('ManholeCoverOpen');
          return list.length > 0 && list;
        },
        30_000,
      );
      expect(cover).toHaveLength(1);
      expect(cover[0]).toMatchObject({ severity: 'critical', labels: { kind: 'manhole', district: 'Shizhong', node: `MH-${run}-2` } });
      // It began with the reading that opened it (event time), and fired at the first evaluation after (no hold).
      expect(cover[0]!.startsAt).toBe(opened);
      expect(cover[0]!.firedAt).toBeLessThan(opened + STEP_MS);
      await until('ManholeCoverOpen in Alertmanager', async () => (await inAlertmanager('ManholeCoverOpen')).length === 1, 30_000);

      // 0.12 m is under the line but above the clear level: still the one alert (hysteresis).
      await evaluatedThrough(opened);
      expect((await alerts('RoadWaterlogging')).map((a) => a.state)).toEqual(['firing']);

      // Below 0.10 m: resolved; the cover closed: resolved.
      await publishStep(0.09, false);
      await until(
        'both alerts resolved',
        async () => {
          const [wl, mh] = [await alerts('RoadWaterlogging'), await alerts('ManholeCoverOpen')];
          return wl.length === 1 && wl[0]!.state === 'resolved' && mh.length === 1 && mh[0]!.state === 'resolved';
        },
        30_000,
      );
      await until(
        'both gone from Alertmanager',
        async () => (await inAlertmanager('RoadWaterlogging')).length === 0 && (await inAlertmanager('ManholeCoverOpen')).length === 0,
        30_000,
      );

      // InfluxDB: every reading of point 1, and the city aggregates the API reports (the latest point:
      // the metrics topics get a section when it changed, so its time is the evaluation that wrote it).
      const q = (query: string) => select(influx.url, influx.database, query);
      await until(
        'waterlogging readings in InfluxDB',
        async () => (await q(`SELECT depthM FROM waterlogging_reading WHERE node = 'WL-${run}-1'`)).length === step,
        30_000,
      );
      const k = await get<{
        waterlogging: { aggregates: Record<string, number | null> };
        manhole: { aggregates: Record<string, number | null> };
      }>('/api/v1/kpis');
      await until(
        'the KPIs in InfluxDB',
        async () => {
          // This run's points (a database shared with other runs may hold later ones).
          const rows = await q(`SELECT maxDepthM, pointsOver15cm FROM waterlogging WHERE scope = 'city' AND time >= ${t0}ms`);
          const { maxDepthM, pointsOver15cm } = k.waterlogging.aggregates;
          return rows.some((row) => row.maxDepthM === maxDepthM && row.pointsOver15cm === pointsOver15cm);
        },
        30_000,
      );
      expect(await q(`SELECT open FROM manhole_reading WHERE node = 'MH-${run}-2' AND open = true`)).toHaveLength(1);

      await pipeline.close();
      pipeline = undefined;
    }, 300_000);
  }
});
