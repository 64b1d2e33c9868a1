import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { influxdbFixture, INFLUXDB_FIXTURE_TIMEOUT_MS } from '../../../infra/fixtures/influxdb.js';
import { influxql } from '../../../infra/influxdb/server.js';
import {
  generateCity,
  MemoryTransport,
  PipelineMetrics,
  TOPICS,
  topicSpecs,
  type Alert,
  type OutgoingMessage,
  type Producer,
} from '../../../core/index.js';
import { startInfluxSink, type InfluxSink } from './index.js';
import { select } from '../../../test/influxql.js';
import { influxWriteCounter, type InfluxWriteCounter } from '../../../test/influx-write-counter.js';
import { waitFor } from '../../../test/helpers.js';
import { defaultKinds } from '../../../core/kinds/modules.js';

beforeAll(
  () =>
    influxdbFixture().then(
      () => {},
      () => {},
    ),
  INFLUXDB_FIXTURE_TIMEOUT_MS,
);
afterAll(async () => (await influxdbFixture().catch(() => null))?.release());

const TS = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const HOUR = 3_600_000;
const city = generateCity(defaultKinds(), { lamps: 20, parkingSpaces: 10, noiseStations: 2, wells: 2, seed: 5 });
const [well1, well2] = city.ofKind('groundwater') as [
  ReturnType<typeof city.ofKind<'groundwater'>>[number],
  ReturnType<typeof city.ofKind<'groundwater'>>[number],
];
const station = city.ofKind('noise')[0]!;
const lamp = city.ofKind('streetlight')[0]!;

const logger = pino({ level: 'silent' });
let dbNo = 0;

/** A database of its own per test, so counts are exact. */
async function freshDatabase() {
  const influx = await influxdbFixture();
  const database = `sinktest_${process.pid}_${++dbNo}`;
  await influxql(influx.url, `CREATE DATABASE "${database}"`, { token: influx.token });
  return { ...influx, database, bucket: `${database}/autogen` };
}

async function pipeline(
  influx: { url: string; token: string; org: string; bucket: string },
  overrides: { url?: string; retryWithinMs?: number } = {},
) {
  const errors: unknown[] = [];
  const transport = new MemoryTransport({ retryDelayMs: 100, onError: (error) => errors.push(error) });
  await transport.ensureTopics(topicSpecs(defaultKinds(), 4));
  const producer = await transport.producer();
  const metrics = new PipelineMetrics({ defaultMetrics: false });
  const config = { INFLUX_URL: influx.url, INFLUX_TOKEN: influx.token, INFLUX_ORG: influx.org, INFLUX_BUCKET: influx.bucket };
  const stage = await startInfluxSink(
    { config, registry: city, transport, metrics, logger },
    { minRetryDelayMs: 50, maxRetryDelayMs: 200, rollups: false, ...overrides },
  ); // fixed 2026-01-01 times: a 30 d raw RP would drop them
  return { transport, producer, metrics, stage, errors };
}

async function drained(sink: InfluxSink, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Object.values(await sink.lag()).some((n) => n > 0)) {
    if (Date.now() > until) throw new Error(`sink still lagging after ${timeoutMs} ms: ${JSON.stringify(await sink.lag())}`);
    await sleep(50);
  }
}

const msg = (key: string, value: unknown): OutgoingMessage => ({ key, value: Buffer.from(JSON.stringify(value)) });
const snapshot = (ts: number, kpis: unknown) => msg('city', { ts, kpis });

function lightingKpis(lit: number) {
  return {
    lamps: 20,
    scheduledOn: true,
    switchOn: TS - HOUR,
    switchOff: TS + 8 * HOUR,
    rate: lit / 20,
    rateAt: TS,
    lit,
    expected: 20,
    unknown: 0,
    byRoadClass: { main: { rate: lit / 20, lit, expected: 20, target: 0.98, compliant: lit / 20 >= 0.98 } },
    byDistrict: { [lamp.district]: { rate: lit / 20, lit, expected: 20 } },
    darkCircuits: 0,
    onInDaytime: 0,
  };
}
const groundwaterKpis = {
  wells: 2,
  reporting: 1,
  byBand: { normal: 0, yellow: 1, orange: 0, red: 0 },
  springGroups: {},
  list: [
    {
      nodeId: well1.nodeId,
      well: well1.well,
      springGroup: well1.springGroup,
      district: well1.district,
      level: 28.1,
      band: 'yellow',
      trend24hCmPerDay: -2.5,
      trend7dCmPerDay: -1.25,
      nextLine: 'orange',
      nextLineM: 27.6,
      hoursToNextLine: 480,
      lines: well1.lines,
      lastTs: TS,
    },
    { nodeId: well2.nodeId, well: well2.well, springGroup: well2.springGroup, district: well2.district, level: null, band: null },
  ],
};
const noiseKpis = {
  stations: 1,
  hour: TS - HOUR,
  complete: 1,
  incomplete: 0,
  compliant: 0,
  complianceRate: 0,
  byZoneClass: {},
  list: [
    {
      nodeId: station.nodeId,
      station: station.station,
      district: station.district,
      zoneClass: station.zoneClass,
      lastHour: { hourStart: TS - HOUR, period: 'night', leq: 58.3, coverage: 0.95, limit: 50, complete: true, exceeds: true },
      currentHour: { hourStart: TS, period: 'night', leq: null, coverage: 0.1, limit: 50, complete: false, exceeds: null },
    },
  ],
};
const parkingKpis = {
  lots: 1,
  spaces: 10,
  occupied: 7,
  free: 2,
  unknown: 1,
  occupancy: 0.7777,
  full: 0,
  nearlyFull: 1,
  byDistrict: { D1: { spaces: 10, occupied: 7, free: 2, unknown: 1, occupancy: 0.7777 } },
  list: [
    {
      lotId: 'lot-1',
      lotName: 'Lot 1',
      district: 'D1',
      spaces: 10,
      occupied: 7,
      free: 2,
      unknown: 1,
      occupancy: 0.7777,
      state: 'nearly-full',
    },
  ],
};
const nodesKpis = {
  total: 34,
  online: 30,
  offline: 4,
  ratio: 30 / 34,
  neverSeen: 1,
  batteryLow: 0,
  rejectedLast5m: {},
  byKind: { streetlight: { total: 20, online: 18, offline: 2, ratio: 0.9 } },
  byDistrict: { D1: { total: 34, online: 30, offline: 4, ratio: 30 / 34 } },
};
function alert(id: string, node: string, state: Alert['state'], updatedAt: number): Alert {
  return {
    id,
    alertname: 'StreetlightOut',
    severity: 'minor',
    labels: { kind: 'streetlight', district: lamp.district, node, circuit: 'c1' },
    summary: `lamp ${node} is dark`,
    state,
    startsAt: TS - 60_000,
    firedAt: TS,
    updatedAt,
  };
}
const gwReading = (ts: number, m: number) =>
  msg(well1.nodeId, {
    type: 'reading',
    nodeId: well1.nodeId,
    kind: 'groundwater',
    district: well1.district,
    receivedAt: ts,
    reading: { ts, waterTableM: m },
  });
const noiseReading = (ts: number, laeq: number) =>
  msg(station.nodeId, {
    type: 'reading',
    nodeId: station.nodeId,
    kind: 'noise',
    district: station.district,
    receivedAt: ts,
    reading: { ts, laeq, lamax: laeq + 10, periodS: 60 },
  });
const lampReading = (ts: number) =>
  msg(lamp.nodeId, {
    type: 'reading',
    nodeId: lamp.nodeId,
    kind: 'streetlight',
    district: lamp.district,
    receivedAt: ts,
    reading: { ts, powerState: 'on', faults: [] },
  });

/** Everything the test publishes, per topic. */
function records() {
  return new Map<string, OutgoingMessage[]>([
    [TOPICS.metrics('streetlight'), [snapshot(TS, lightingKpis(19)), snapshot(TS + 60_000, lightingKpis(20))]],
    [TOPICS.metrics('groundwater'), [snapshot(TS, groundwaterKpis)]],
    [TOPICS.metrics('noise'), [snapshot(TS, noiseKpis), snapshot(TS + 60_000, noiseKpis)]], // same hour: one point
    [TOPICS.metrics('parking'), [snapshot(TS, parkingKpis)]],
    [TOPICS.nodeMetrics, [snapshot(TS, nodesKpis)]],
    // Two alerts with equal tags changing in the same tick, then one resolving.
    [
      TOPICS.alerts,
      [
        msg('a-1', alert('a-1', 'n1', 'firing', TS)),
        msg('a-2', alert('a-2', 'n2', 'firing', TS)),
        msg('a-1', alert('a-1', 'n1', 'resolved', TS + 120_000)),
      ],
    ],
    [
      TOPICS.raw,
      [
        gwReading(TS, 28.2),
        gwReading(TS + 600_000, 28.15),
        noiseReading(TS, 55.5),
        noiseReading(TS + 60_000, 61.25),
        lampReading(TS),
        { key: 'junk', value: Buffer.from('{oops') },
      ],
    ],
  ]);
}

async function publish(producer: Producer, all = records()): Promise<void> {
  for (const [topic, messages] of all) await producer.send(topic, messages);
}

/** Points per measurement in the database. */
async function counts(url: string, database: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const m of ['lighting', 'groundwater_well', 'groundwater_reading', 'noise_station', 'noise_reading', 'parking', 'nodes', 'alerts'])
    out[m] = (await select(url, database, `SELECT * FROM "${m}"`)).length;
  return out;
}
const EXPECTED_COUNTS = {
  lighting: 6,
  groundwater_well: 1,
  groundwater_reading: 2,
  noise_station: 1,
  noise_reading: 2,
  parking: 3,
  nodes: 3,
  alerts: 3,
};
/**
 * Written once each, as InfluxDB acknowledged them through the counting proxy: every point but the
 * noise hour, which two snapshots of the same hour write (the database holds it once).
 */
function expectWrittenOnce(proxy: InfluxWriteCounter, noiseReadings = EXPECTED_COUNTS.noise_reading): void {
  const notOnce = proxy.notOnce();
  expect(Object.keys(notOnce).filter((key) => !key.startsWith('noise_station,'))).toEqual([]);
  expect(Object.values(notOnce)).toEqual([2]);
  const points = Object.fromEntries(Object.keys(EXPECTED_COUNTS).map((m) => [m, proxy.points(m)]));
  expect(points).toEqual({ ...EXPECTED_COUNTS, noise_reading: noiseReadings });
}
const errorCount = async (metrics: PipelineMetrics, cause: string) =>
  (await metrics.sinkWriteErrors.get()).values.filter((v) => v.labels.cause === cause).reduce((n, v) => n + v.value, 0);

describe('InfluxDB sink (real InfluxDB, in-process log)', () => {
  it('writes KPI snapshots, alerts and low-rate readings that InfluxQL reads back exactly; a replay adds nothing', async () => {
    const influx = await freshDatabase();
    const { producer, metrics, stage, transport } = await pipeline(influx);
    try {
      await publish(producer);
      await drained(stage.sink);
      const { url, database } = influx;

      expect(await counts(url, database)).toEqual(EXPECTED_COUNTS);
      expect(
        await select(
          url,
          database,
          `SELECT rate, lit, expected, target, compliant FROM lighting WHERE scope = 'roadClass' AND "name" = 'main'`,
        ),
      ).toEqual([
        { time: TS, rate: 0.95, lit: 19, expected: 20, target: 0.98, compliant: false },
        { time: TS + 60_000, rate: 1, lit: 20, expected: 20, target: 0.98, compliant: true },
      ]);
      expect(await select(url, database, `SELECT rate, lit, scheduledOn FROM lighting WHERE scope = 'city'`)).toEqual([
        { time: TS, rate: 0.95, lit: 19, scheduledOn: true },
        { time: TS + 60_000, rate: 1, lit: 20, scheduledOn: true },
      ]);
      expect(await select(url, database, `SELECT * FROM groundwater_well`)).toEqual([
        {
          time: TS,
          band: 'yellow',
          district: well1.district,
          hoursToNextLine: 480,
          level: 28.1,
          nextLineM: 27.6,
          springGroup: well1.springGroup,
          trend24h: -2.5,
          trend7d: -1.25,
          well: well1.well,
          ...well1.lines,
        },
      ]);
      expect(await select(url, database, `SELECT * FROM groundwater_reading`)).toEqual([
        { time: TS, node: well1.nodeId, waterTableM: 28.2, well: well1.well },
        { time: TS + 600_000, node: well1.nodeId, waterTableM: 28.15, well: well1.well },
      ]);
      expect(await select(url, database, `SELECT * FROM noise_station`)).toEqual([
        {
          time: TS - HOUR,
          complete: true,
          coverage: 0.95,
          district: station.district,
          exceeds: true,
          leq: 58.3,
          limit: 50,
          period: 'night',
          station: station.station,
          zoneClass: station.zoneClass,
        },
      ]);
      expect(await select(url, database, `SELECT laeq, lamax, "node", station FROM noise_reading`)).toEqual([
        { time: TS, laeq: 55.5, lamax: 65.5, node: station.nodeId, station: station.station },
        { time: TS + 60_000, laeq: 61.25, lamax: 71.25, node: station.nodeId, station: station.station },
      ]);
      expect(
        await select(url, database, `SELECT occupancy, occupied, free, "unknown", spaces, state FROM parking WHERE scope = 'lot'`),
      ).toEqual([{ time: TS, occupancy: 0.7777, occupied: 7, free: 2, unknown: 1, spaces: 10, state: 'nearly-full' }]);
      expect(await select(url, database, `SELECT total, online, ratio FROM nodes WHERE scope = 'kind' AND "name" = 'streetlight'`)).toEqual(
        [{ time: TS, total: 20, online: 18, ratio: 0.9 }],
      );
      const alerts = await select(url, database, `SELECT id, state, severity, alertname, subject FROM alerts`, 'ns');
      expect(alerts.map((a) => ({ ...a, time: Number(BigInt(a.time as number) / 1_000_000n) }))).toEqual(
        expect.arrayContaining([
          { time: TS, id: 'a-1', state: 'firing', severity: 'minor', alertname: 'StreetlightOut', subject: 'n1' },
          { time: TS, id: 'a-2', state: 'firing', severity: 'minor', alertname: 'StreetlightOut', subject: 'n2' },
          { time: TS + 120_000, id: 'a-1', state: 'resolved', severity: 'minor', alertname: 'StreetlightOut', subject: 'n1' },
        ]),
      );
      expect(alerts).toHaveLength(3);

      const written = (await metrics.sinkPointsWritten.get()).values.reduce((n, v) => n + v.value, 0);
      expect(written).toBe(Object.values(EXPECTED_COUNTS).reduce((a, b) => a + b, 0) + 1); // the second noise snapshot rewrote its hour
      expect((await metrics.sinkRecordsSkipped.get()).values).toEqual([
        expect.objectContaining({ labels: { topic: TOPICS.raw }, value: 1 }),
      ]);

      // Replay: the same records again (as after a crash before the commit) change nothing.
      await publish(producer);
      await drained(stage.sink);
      expect(await counts(url, database)).toEqual(EXPECTED_COUNTS);
      expect(await select(url, database, `SELECT laeq FROM noise_reading`)).toEqual([
        { time: TS, laeq: 55.5 },
        { time: TS + 60_000, laeq: 61.25 },
      ]);
    } finally {
      await stage.close();
      await transport.close();
    }
  });

  it('keeps a batch uncommitted while InfluxDB is unreachable and loses nothing, doubles nothing once it is back', async () => {
    const influx = await freshDatabase();
    const proxy = await influxWriteCounter(influx.url);
    const { producer, metrics, stage, transport, errors } = await pipeline(influx, { url: proxy.url, retryWithinMs: 300 });
    try {
      await proxy.halt();
      await publish(producer);
      // 50 more noise readings while it is down.
      await producer.send(
        TOPICS.raw,
        Array.from({ length: 50 }, (_, i) => noiseReading(TS + (i + 2) * 60_000, 40 + i / 4)),
      );
      // A write failed as unreachable and its batch was thrown back to the log (to be redelivered).
      await waitFor(
        async () => errors.length > 0 && (await errorCount(metrics, 'unreachable')) > 0,
        20_000,
        'a failed write and a batch thrown back',
      );
      expect(Object.values(await stage.sink.lag()).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      expect(proxy.acknowledged.size).toBe(0);

      await proxy.resume();
      await drained(stage.sink, 30_000);
      expect(await counts(influx.url, influx.database)).toEqual({ ...EXPECTED_COUNTS, noise_reading: 52 });
      const laeq = await select(influx.url, influx.database, `SELECT laeq FROM noise_reading`);
      expect(laeq.slice(2)).toEqual(Array.from({ length: 50 }, (_, i) => ({ time: TS + (i + 2) * 60_000, laeq: 40 + i / 4 })));
      // Redelivered batches were written once they could be, and each point only once.
      expectWrittenOnce(proxy, 52);
    } finally {
      await stage.close();
      await transport.close();
      await proxy.close();
    }
  });

  it('stops while InfluxDB is down, abandoning the write it retries; a restarted sink of the same group resumes and writes everything once', async () => {
    const influx = await freshDatabase();
    const proxy = await influxWriteCounter(influx.url);
    // A write retries for up to 10 minutes: a stop that waited for it would outlast the test's time-out.
    const { producer, transport, stage, metrics } = await pipeline(influx, { url: proxy.url, retryWithinMs: 600_000 });
    try {
      await proxy.halt();
      await publish(producer);
      await waitFor(async () => (await errorCount(metrics, 'unreachable')) > 0, 20_000, 'the sink retrying a write');
      await stage.close();
      expect(proxy.acknowledged.size).toBe(0);
      await proxy.resume();
      const again = await startInfluxSink(
        {
          config: { INFLUX_URL: proxy.url, INFLUX_BUCKET: influx.bucket, INFLUX_TOKEN: influx.token, INFLUX_ORG: influx.org },
          registry: city,
          transport,
          metrics,
          logger,
        },
        { rollups: false },
      );
      try {
        await drained(again.sink);
        expect(await counts(influx.url, influx.database)).toEqual(EXPECTED_COUNTS);
        expectWrittenOnce(proxy);
      } finally {
        await again.close();
      }
    } finally {
      await transport.close();
      await proxy.close();
    }
  });

  it('retries while the database is missing (HTTP 404) and writes once it exists', async () => {
    const influx = await influxdbFixture();
    const database = `sinktest_${process.pid}_late`;
    const { producer, metrics, stage, transport } = await pipeline({ ...influx, bucket: `${database}/autogen` }, { retryWithinMs: 200 });
    try {
      await publish(producer);
      await waitFor(async () => (await errorCount(metrics, 'client')) > 0, 20_000, 'a write refused for the missing database');
      await influxql(influx.url, `CREATE DATABASE "${database}"`, { token: influx.token });
      await drained(stage.sink);
      expect(await counts(influx.url, database)).toEqual(EXPECTED_COUNTS);
    } finally {
      await stage.close();
      await transport.close();
    }
  });

  it('drops (and counts, and logs) points InfluxDB refuses as invalid instead of stalling', async () => {
    const influx = await freshDatabase();
    // A field type conflict: `rate` already holds strings in this shard.
    const w = await fetch(`${influx.url}/write?db=${influx.database}&precision=ms`, {
      method: 'POST',
      body: `lighting,scope=city,name=city rate="broken" ${TS}`,
    });
    expect(w.status).toBe(204);
    const { producer, metrics, stage, transport } = await pipeline(influx);
    try {
      await publish(producer);
      await drained(stage.sink);
      const rejected = (await metrics.sinkPointsRejected.get()).values.reduce((n, v) => n + v.value, 0);
      expect(rejected).toBeGreaterThan(0);
      expect((await metrics.sinkWriteErrors.get()).values).toEqual(
        expect.arrayContaining([expect.objectContaining({ labels: { cause: 'rejected' } })]),
      );
      // Other measurements went on regardless.
      expect(await select(influx.url, influx.database, `SELECT laeq FROM noise_reading`)).toHaveLength(2);
    } finally {
      await stage.close();
      await transport.close();
    }
  });

  it("reads metrics.<kind> of every profile kind in the registry's catalog and their raw readings; a replay adds nothing", async () => {
    const influx = await freshDatabase();
    const { producer, stage, transport } = await pipeline(influx);
    const depth = (ts: number, depthM: number) =>
      msg('WL-1', {
        type: 'reading',
        nodeId: 'WL-1',
        kind: 'waterlogging',
        district: 'Lixia',
        receivedAt: ts,
        reading: { ts, depthM, rainMmPerH: 40 },
      });
    const cover = (ts: number, open: boolean) =>
      msg('MH-1', {
        type: 'reading',
        nodeId: 'MH-1',
        kind: 'manhole',
        district: 'Lixia',
        receivedAt: ts,
        reading: { ts, open, tiltDeg: open ? 25 : 1 },
      });
    const group = {
      nodes: 1,
      reporting: 1,
      aggregates: { meanDepthM: 0.32, maxDepthM: 0.32, pointsOver15cm: 1, pointsOverClosure: 1, secondsOver15cm: 180 },
    };
    const kpis = {
      title: 'Road waterlogging',
      ...group,
      byDistrict: { Lixia: group },
      list: [
        {
          nodeId: 'WL-1',
          district: 'Lixia',
          ts: TS,
          values: { depthM: 0.32, rainMmPerH: 40 },
          timeOver: { secondsOver15cm: 180 },
          rules: ['RoadWaterlogging/critical', 'RoadWaterlogging/major'],
        },
      ],
    };
    const profileRecords = new Map<string, OutgoingMessage[]>([
      [TOPICS.metrics('waterlogging'), [snapshot(TS, kpis)]],
      [TOPICS.raw, [depth(TS - 60_000, 0.2), depth(TS, 0.32), cover(TS, true)]],
    ]);
    try {
      await publish(producer, profileRecords);
      await drained(stage.sink);
      await publish(producer, profileRecords);
      await drained(stage.sink);
      const { url, database } = influx;
      expect(await select(url, database, `SELECT * FROM waterlogging WHERE scope = 'city'`)).toEqual([
        {
          time: TS,
          scope: 'city',
          name: 'city',
          nodes: 1,
          reporting: 1,
          meanDepthM: 0.32,
          maxDepthM: 0.32,
          pointsOver15cm: 1,
          pointsOverClosure: 1,
          secondsOver15cm: 180,
        },
      ]);
      expect(await select(url, database, `SELECT * FROM waterlogging_node`)).toEqual([
        {
          time: TS,
          node: 'WL-1',
          district: 'Lixia',
          rules: 'RoadWaterlogging/critical,RoadWaterlogging/major',
          ruleCount: 2,
          secondsOver15cm: 180,
          depthM: 0.32,
          rainMmPerH: 40,
        },
      ]);
      expect(await select(url, database, `SELECT depthM, "node" FROM waterlogging_reading`)).toEqual([
        { time: TS - 60_000, depthM: 0.2, node: 'WL-1' },
        { time: TS, depthM: 0.32, node: 'WL-1' },
      ]);
      expect(await select(url, database, `SELECT "open", tiltDeg FROM manhole_reading`)).toEqual([{ time: TS, open: true, tiltDeg: 25 }]);
    } finally {
      await stage.close();
      await transport.close();
    }
  });
});
