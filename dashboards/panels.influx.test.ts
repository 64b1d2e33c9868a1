/**
 * Acceptance: every query of every panel returns data. A simulated city (the `demo` scenario: a dark
 * circuit, a well below a line, a well falling fast, a full lot, a noisy station, bad data) runs through the embedded
 * pipeline into a real InfluxDB, from 21:58 (Asia/Shanghai; the latest at least 3 h ago) at 120x, so the run spans a day
 * and a night noise hour, lamps scheduled on and half-night. Then every InfluxQL target of every
 * dashboard (and every template-variable query) is executed with Grafana's macros filled in, and
 * every PromQL target's metric names are checked against the pipeline's own /metrics.
 *
 * The profile kinds' generated dashboards (waterlogging, manhole) are part of that run (the generated
 * city has their nodes, the demo scenario floods points and displaces covers), and are checked once
 * more on their own against points the sink's `toPoints` makes of hand-written records of those kinds
 * (KPI snapshots as the aggregator writes them, raw readings, alerts, node health): that check does
 * not depend on the simulator or the processors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { generateCity, PipelineMetrics, TOPICS, type ProfileKpis } from '../core/index.js';
import { INFLUXDB_FIXTURE_TIMEOUT_MS, influxdbFixture, type InfluxdbFixture } from '../infra/fixtures/influxdb.js';
import { startPipeline, type RunningPipeline } from '../bin/pipeline.js';
import { startSimulation, type Simulation } from '../simulators/index.js';
import { latestLocalTime, parseLocalTime } from '../test/clock.js';
import { testConfig, waitFor } from '../test/helpers.js';
import { select, type Row } from '../test/influxql.js';
import { macros, runAll, type Panel } from '../test/dashboard-queries.js';
import { toPoints } from '../processors/sinks/influxdb/points.js';
import { InfluxWriter } from '../processors/sinks/influxdb/writer.js';
import { profileDashboardUid } from './boards/profile.js';
import { allDashboards } from './provisioning.js';
import { defaultKinds } from '../core/kinds/modules.js';

const HOUR = 3_600_000;
const SPEED = 120;
/** Simulated minutes to run: past 23:00 so the 22:00 night hour is judged, with margin. */
const RUN_MIN = 80;

/**
 * Fields and measurements the processors are adding (issue 4, names fixed): panels reading them stay
 * empty until those KPIs are produced. Listed so the failure says which panels wait for what.
 */
const PENDING = [
  'installationRate',
  'designed',
  'installed',
  'intactRate',
  'facilities',
  '"intact"',
  'halfNight',
  'roadsCompliant',
  'roadsNonCompliant',
  'sessions',
  'turnover',
  'meanDwellMin',
  'noise_day',
];

describe('dashboards against a real InfluxDB after a simulated run', () => {
  let influx: InfluxdbFixture;
  let pipeline: RunningPipeline | undefined;
  let simulation: Simulation | undefined;

  beforeAll(async () => {
    influx = await influxdbFixture();
  }, INFLUXDB_FIXTURE_TIMEOUT_MS);
  afterAll(async () => {
    await simulation?.stop();
    await pipeline?.close();
    await (await influxdbFixture().catch(() => null))?.release();
  });

  it('every InfluxQL query of every panel and variable returns rows; every PromQL metric is exposed on /metrics', async () => {
    // A fresh database per run, so nothing from another test file answers for this one.
    const database = `dash${Date.now().toString(36)}`;
    await fetch(`${influx.url}/query?${new URLSearchParams({ q: `CREATE DATABASE "${database}"` }).toString()}`, { method: 'POST' });
    const registry = generateCity(defaultKinds(), { lamps: 480, parkingSpaces: 240, noiseStations: 12, wells: 8, seed: 20261126 });
    pipeline = await startPipeline({
      config: testConfig({
        ALERT_HOLD_S: '10',
        ALERT_RESOLVE_HOLD_S: '10',
        INFLUX_URL: influx.url,
        INFLUX_TOKEN: influx.token,
        INFLUX_ORG: influx.org,
        INFLUX_BUCKET: `${database}/autogen`,
        // The metrics intervals are wall time and the simulated city runs SPEED times faster: every
        // change written at once, or a well's or lot's first reading would wait 10 simulated hours.
        METRICS_SUMMARY_INTERVAL_S: '0',
        METRICS_ITEM_INTERVAL_S: '0',
      }),
      registry,
      logger: pino({ level: 'silent' }),
    });
    // Pinned to 21:58 local whatever the hour the suite runs at: the run needs the 22:00 night hour.
    const start = latestLocalTime(parseLocalTime('21:58'), Date.now());
    simulation = await startSimulation({
      url: `mqtt://127.0.0.1:${pipeline.mqttPort}`,
      registry,
      scenario: 'demo',
      seed: 1,
      start,
      speed: SPEED,
      warmupS: 30,
    });
    const api = `http://127.0.0.1:${pipeline.httpPort}`;
    const end = start + RUN_MIN * 60_000;
    await waitFor(() => simulation!.stats().simNow >= end, 150_000, `the simulated city to reach ${RUN_MIN} simulated minutes`);
    await simulation.stop();
    simulation = undefined;
    // The processors follow event time: once the last readings are in, the KPIs of the run's end reach InfluxDB.
    await waitFor(
      async () =>
        (await select(influx.url, database, `SELECT rate FROM lighting WHERE scope = 'city' AND time >= ${end - 60_000}ms`)).length > 0,
      60_000,
      'the sink to write the end of the run',
    );

    // Grafana's macros: the range covers the run and the local midnight starting its day (noise_day).
    const fill = macros(`time >= ${start - 2 * 24 * HOUR}ms and time <= ${Date.now() + HOUR}ms`);
    const run = async (query: string): Promise<Row[] | Error> => {
      try {
        return await select(influx.url, database, query);
      } catch (error) {
        return error as Error;
      }
    };

    // Every board: the built-in kinds', the profile kinds', node health and the pipeline.
    const { empty, broken, executed } = await runAll(allDashboards(), run, fill);
    const pending = empty.filter((e) => PENDING.some((f) => e.includes(f)));
    const unexplained = empty.filter((e) => !pending.includes(e));
    const report = [
      broken.length ? `InfluxQL errors (${broken.length}):\n  ${broken.join('\n  ')}` : '',
      unexplained.length ? `queries without data (${unexplained.length}):\n  ${unexplained.join('\n  ')}` : '',
      pending.length
        ? `waiting for KPI fields the processors do not produce yet (${PENDING.join(', ')}) (${pending.length}):\n  ${pending.join('\n  ')}`
        : '',
    ].filter(Boolean);
    expect(executed).toBeGreaterThan(50);
    expect(report.join('\n\n'), `${executed} queries run`).toBe('');

    // PromQL: every metric a panel (or the pipeline rule) names is one the pipeline exposes.
    const text = await (await fetch(`${api}/metrics`)).text();
    const exposed = new Set(
      [...text.matchAll(/^# TYPE (\S+) (\w+)/gm)].flatMap(([, name, type]) =>
        type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name!],
      ),
    );
    const named = new Set<string>();
    for (const d of allDashboards()) {
      for (const p of (JSON.parse(JSON.stringify(d)) as { panels: Panel[] }).panels) {
        for (const t of p.targets)
          if (t.expr) for (const [m] of t.expr.matchAll(/\b(?:citybrain|process|nodejs)_[a-z0-9_]+/g)) named.add(m);
      }
    }
    expect(named.size).toBeGreaterThan(10);
    expect([...named].filter((m) => !exposed.has(m))).toEqual([]);
  }, 240_000);

  it("every InfluxQL query of the profile kinds' generated dashboards returns rows, from points toPoints makes of their records", async () => {
    const database = `dashp${Date.now().toString(36)}`;
    await fetch(`${influx.url}/query?${new URLSearchParams({ q: `CREATE DATABASE "${database}"` }).toString()}`, { method: 'POST' });
    const kinds = defaultKinds();
    const t0 = Date.now() - 30 * 60_000;
    const MIN = 60_000;
    const rec = (value: unknown) => ({ value: Buffer.from(JSON.stringify(value)) });
    const aggregates = (kind: string, worst: boolean) =>
      Object.fromEntries(
        kinds
          .get(kind)!
          .profile!.aggregates.map((a) => [
            a.name,
            a.op === 'timeOver' ? (worst ? 300 : 0) : a.op === 'count' ? (worst ? 1 : 0) : worst ? 0.4 : 0.05,
          ]),
      );
    const kpis = (kind: string, title: string, node: ProfileKpis['list'][number]): ProfileKpis => ({
      title,
      nodes: 2,
      reporting: 2,
      aggregates: aggregates(kind, true),
      byDistrict: {
        Lixia: { nodes: 1, reporting: 1, aggregates: aggregates(kind, true) },
        Shizhong: { nodes: 1, reporting: 1, aggregates: aggregates(kind, false) },
      },
      list: [node],
    });
    const records = new Map<string, ReturnType<typeof rec>[]>();
    const add = (topic: string, value: unknown) => records.set(topic, [...(records.get(topic) ?? []), rec(value)]);
    for (let i = 0; i < 10; i++) {
      const ts = t0 + i * MIN;
      add(TOPICS.metrics('waterlogging'), {
        ts,
        kpis: kpis('waterlogging', 'Road waterlogging', {
          nodeId: 'WL-1',
          district: 'Lixia',
          ts,
          values: { depthM: 0.4, rainMmPerH: 60 },
          timeOver: { secondsOver15cm: 300 },
          rules: ['RoadWaterlogging/critical'],
        }),
      });
      add(TOPICS.metrics('manhole'), {
        ts,
        kpis: kpis('manhole', 'Manhole covers', {
          nodeId: 'MH-1',
          district: 'Lixia',
          ts,
          values: { open: true, tiltDeg: 30, waterBelowM: 1.5 },
          timeOver: { secondsOpen: 300 },
          rules: ['ManholeCoverOpen/critical'],
        }),
      });
      for (const [nodeId, district, depthM] of [
        ['WL-1', 'Lixia', 0.4],
        ['WL-2', 'Shizhong', 0.01],
      ] as const) {
        add(TOPICS.raw, {
          type: 'reading',
          nodeId,
          kind: 'waterlogging',
          district,
          receivedAt: ts,
          reading: { ts, depthM, rainMmPerH: 50 },
        });
      }
      for (const [nodeId, district, open] of [
        ['MH-1', 'Lixia', true],
        ['MH-2', 'Shizhong', false],
      ] as const) {
        add(TOPICS.raw, {
          type: 'reading',
          nodeId,
          kind: 'manhole',
          district,
          receivedAt: ts,
          reading: { ts, open, tiltDeg: open ? 30 : 1, waterBelowM: 2 },
        });
      }
      const tally = { total: 2, online: 2, offline: 0, ratio: 1 };
      add(TOPICS.nodeMetrics, {
        ts,
        kpis: { ...tally, neverSeen: 0, batteryLow: 0, byKind: { waterlogging: tally, manhole: tally }, byDistrict: { Lixia: tally } },
      });
    }
    for (const [alertname, kind, node] of [
      ['RoadWaterlogging', 'waterlogging', 'WL-1'],
      ['ManholeCoverOpen', 'manhole', 'MH-1'],
    ] as const) {
      const alert = {
        id: `${alertname}-${node}`,
        alertname,
        severity: 'critical',
        labels: { kind, district: 'Lixia', node },
        summary: `${alertname} at ${node}`,
        value: 1,
        startsAt: t0,
        firedAt: t0 + MIN,
      };
      add(TOPICS.alerts, { ...alert, state: 'firing', updatedAt: t0 + MIN });
      add(TOPICS.alerts, { ...alert, state: 'resolved', updatedAt: t0 + 8 * MIN });
    }
    const writer = new InfluxWriter({
      url: influx.url,
      token: influx.token,
      org: influx.org,
      bucket: `${database}/autogen`,
      metrics: new PipelineMetrics({ defaultMetrics: false }),
      logger: pino({ level: 'silent' }),
    });
    try {
      for (const [topic, batch] of records) {
        const { points, skipped } = toPoints(topic, batch, defaultKinds());
        expect(skipped, topic).toBe(0);
        await writer.write(points);
      }
    } finally {
      writer.close();
    }

    const run = async (query: string): Promise<Row[] | Error> => {
      try {
        return await select(influx.url, database, query);
      } catch (error) {
        return error as Error;
      }
    };
    const boards = allDashboards(kinds).filter((d) => kinds.profiles().some((p) => profileDashboardUid(p.kind) === d.uid));
    expect(boards.map((d) => d.uid).sort()).toEqual(['citybrain-manhole', 'citybrain-waterlogging']);
    const { empty, broken, executed } = await runAll(boards, run, macros(`time >= ${t0 - HOUR}ms and time <= ${Date.now() + HOUR}ms`));
    expect(executed).toBeGreaterThan(30);
    expect([...broken, ...empty], `${executed} queries run`).toEqual([]);
  }, 60_000);
});
