import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../core/index.js';
import { INFLUXDB_FIXTURE_TIMEOUT_MS, influxdbFixture, type InfluxdbFixture } from '../infra/fixtures/influxdb.js';
import { testNow } from '../test/clock.js';
import { waitFor } from '../test/helpers.js';
import { select } from '../test/influxql.js';
import { runDemo } from './demo.js';
import { demoTestConfig } from '../test/demo-config.js';

/**
 * `npm run demo` with INFLUX_* set, against a real InfluxDB: for each measurement, InfluxQL
 * returns the values the API reported for the same evaluation.
 */
describe('demo writing to InfluxDB', () => {
  let influx: InfluxdbFixture;
  let demo: Awaited<ReturnType<typeof runDemo>> | undefined;

  beforeAll(async () => {
    influx = await influxdbFixture();
  }, INFLUXDB_FIXTURE_TIMEOUT_MS);
  afterAll(async () => {
    await demo?.close();
    await (await influxdbFixture().catch(() => null))?.release();
  });

  it('InfluxQL queries for each measurement return the same values the API reports', async () => {
    demo = await runDemo(
      demoTestConfig({
        INFLUX_URL: influx.url,
        INFLUX_TOKEN: influx.token,
        INFLUX_ORG: influx.org,
        INFLUX_BUCKET: influx.bucket,
      }),
      testNow,
    );
    const api = `http://127.0.0.1:${demo.pipeline.httpPort}`;
    const q = (query: string) => select(influx.url, influx.database, query);
    type Kpis = any;
    const firing = await waitFor(
      async () => {
        const alerts = (await (await fetch(`${api}/api/v1/alerts?state=firing`)).json()) as { items: Alert[] };
        return alerts.items.length > 0 ? alerts.items : undefined;
      },
      60_000,
      'a firing alert',
    );
    // An evaluation at night (the demo's history may start by day, when lighting has no rates to write), once
    // the parking detectors and the wells have reported: a section that has not changed since the very first
    // evaluation (stamped on the wall clock, before any reading) has no point at the data's time. KPIs now
    // come soon after the first readings, which may be before the detectors' first ones.
    const k = await waitFor(
      async () => {
        const kpis = (await (await fetch(`${api}/api/v1/kpis`)).json()) as Kpis;
        const baotu = (kpis.groundwater?.list as { well: string; level: number | null }[] | undefined)?.find(
          (w) => w.well === 'Baotu Spring',
        );
        return kpis.lighting?.scheduledOn === true &&
          kpis.lighting.rate !== null &&
          kpis.parking?.occupancy !== null &&
          typeof baotu?.level === 'number'
          ? kpis
          : undefined;
      },
      60_000,
      'an evaluation with the lamps scheduled on, the parking detectors and Baotu Spring reporting',
    );
    const t = k.evaluatedAt as number;

    // Each measurement comes from its own topic: wait for each to hold the evaluation the API reported.
    const written = (query: string) =>
      waitFor(
        async () => {
          const rows = await q(query);
          return rows.length ? rows : undefined;
        },
        30_000,
        `the sink to write the evaluation the API reported: ${query}`,
      );
    // A section (or list entry) is written when it changed (the demo's defaults: at the evaluation that changed it), so
    // the value at the API's evaluation is the series' latest point at or before it, once the sink has
    // written that far: wait for it to hold the API's numbers. (Not the latest point of all: the first
    // evaluation, before any reading, is at the wall clock, after the demo's event time.)
    // A null value is not written (InfluxDB has no null): by day the lighting rates are null.
    const asWritten = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null));
    const asOf = (from: string, expected: Record<string, unknown>) =>
      waitFor(
        async () => {
          const [row] = await q(`SELECT * FROM ${from} AND time <= ${t}ms ORDER BY time DESC LIMIT 1`);
          return row && Object.entries(asWritten(expected)).every(([field, value]) => row[field] === value) ? row : undefined;
        },
        30_000,
        `the latest point of ${from} at or before the API's evaluation to hold ${JSON.stringify(expected)}`,
      );
    await asOf(`lighting WHERE scope = 'city'`, { rate: k.lighting.rate, lit: k.lighting.lit, expected: k.lighting.expected });
    await asOf(`lighting WHERE scope = 'roadClass' AND "name" = 'main'`, {
      rate: k.lighting.byRoadClass.main.rate,
      target: k.lighting.byRoadClass.main.target,
    });
    await asOf(`parking WHERE scope = 'city'`, {
      occupancy: k.parking.occupancy,
      occupied: k.parking.occupied,
      free: k.parking.free,
      spaces: k.parking.spaces,
    });
    await asOf(`nodes WHERE scope = 'city'`, { total: k.nodes.total, online: k.nodes.online });

    const baotu = (k.groundwater.list as { well: string; level: number; band: string }[]).find((w) => w.well === 'Baotu Spring')!;
    await asOf(`groundwater_well WHERE well = 'Baotu Spring'`, { level: baotu.level });

    const station = (k.noise.list as { station: string; lastHour: { hourStart: number; coverage: number; limit: number } }[])[0]!;
    const [hour] = await written(
      `SELECT coverage, "limit" FROM noise_station WHERE station = '${station.station.replaceAll("'", "\\'")}' AND time = ${station.lastHour.hourStart}ms`,
    );
    expect(hour).toMatchObject({ coverage: station.lastHour.coverage, limit: station.lastHour.limit });

    const alert = firing[0]!;
    // Its firing transition (it may have moved on since the API was read: the demo's alerts come and go).
    const fired = await waitFor(
      async () => {
        const r = await q(`SELECT * FROM alerts WHERE id = '${alert.id}'`);
        return r.find((row) => row.state === 'firing');
      },
      30_000,
      'the alert in InfluxDB',
    );
    expect(fired).toMatchObject({ alertname: alert.alertname, state: 'firing', severity: alert.severity });

    // Raw readings of the low-rate kinds are kept per node.
    const wellNode = (await (await fetch(`${api}/api/v1/nodes/${(k.groundwater.list as { nodeId: string }[])[0]!.nodeId}`)).json()) as {
      node: { nodeId: string };
      latest: { ts: number; waterTableM: number };
    };
    const [raw] = await waitFor(
      async () => {
        const r = await q(
          `SELECT waterTableM FROM groundwater_reading WHERE node = '${wellNode.node.nodeId}' AND time = ${wellNode.latest.ts}ms`,
        );
        return r.length ? r : undefined;
      },
      30_000,
      'the raw well reading',
    );
    expect(raw).toMatchObject({ waterTableM: wellNode.latest.waterTableM });
    const [noiseCount] = await q('SELECT count(laeq) FROM noise_reading');
    expect(noiseCount!.count).toBeGreaterThan(0);
  }, 180_000);
});
