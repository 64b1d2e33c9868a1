/**
 * A real outage: the sink writes while InfluxDB (a dedicated local influxd) is stopped for 30 s and
 * started again on the same data dir and port. Every record published must end up as exactly one
 * point (none lost while the server was down), written exactly once: InfluxDB overwrites a point
 * of the same series and time, so a doubled write cannot be seen in the database; a proxy in
 * front of it (test/influx-write-counter.ts) counts the acknowledged writes of every point.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dedicatedInfluxdb, INFLUXDB_FIXTURE_TIMEOUT_MS } from '../../../infra/fixtures/influxdb.js';
import type { InfluxdbServer } from '../../../infra/influxdb/server.js';
import { generateCity, MemoryTransport, PipelineMetrics, TOPICS, topicSpecs, type OutgoingMessage } from '../../../core/index.js';
import { startInfluxSink, type InfluxSink } from './index.js';
import { select } from '../../../test/influxql.js';
import { influxWriteCounter } from '../../../test/influx-write-counter.js';
import { testNow } from '../../../test/clock.js';
import { waitFor } from '../../../test/helpers.js';
import { defaultKinds } from '../../../core/kinds/modules.js';

let influx: InfluxdbServer | undefined;
beforeAll(async () => {
  influx = await dedicatedInfluxdb();
}, INFLUXDB_FIXTURE_TIMEOUT_MS);
afterAll(() => influx?.stop());

const city = generateCity(defaultKinds(), { lamps: 4, parkingSpaces: 4, noiseStations: 1, wells: 1, seed: 7 });
const well = city.ofKind('groundwater')[0]!;
const station = city.ofKind('noise')[0]!;
const msg = (key: string, value: unknown): OutgoingMessage => ({ key, value: Buffer.from(JSON.stringify(value)) });

// Minimal aggregator snapshots: one point (scope=city) per record.
const lighting = (i: number) => ({
  lamps: 4,
  scheduledOn: true,
  switchOn: 0,
  switchOff: 0,
  rate: (i % 5) / 4,
  rateAt: 0,
  lit: i % 5,
  expected: 4,
  unknown: 0,
  byRoadClass: {},
  byDistrict: {},
  darkCircuits: 0,
  onInDaytime: 0,
});
const parking = (i: number) => ({
  lots: 1,
  spaces: 4,
  occupied: i % 5,
  free: 4 - (i % 5),
  unknown: 0,
  occupancy: (i % 5) / 4,
  full: 0,
  nearlyFull: 0,
  byDistrict: {},
  list: [],
});
const nodes = (i: number) => ({
  total: 10,
  online: 10 - (i % 3),
  offline: i % 3,
  ratio: (10 - (i % 3)) / 10,
  neverSeen: 0,
  batteryLow: 0,
  rejectedLast5m: {},
  byKind: {},
  byDistrict: {},
});

async function drained(sink: InfluxSink, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Object.values(await sink.lag()).some((n) => n > 0)) {
    if (Date.now() > until) throw new Error(`sink still lagging after ${timeoutMs} ms: ${JSON.stringify(await sink.lag())}`);
    await sleep(200);
  }
}

describe('InfluxDB sink across a real InfluxDB outage', () => {
  it('InfluxDB stopped for 30 s during writes and started again: no point lost (counted), none doubled', async () => {
    const server = influx!;
    const transport = new MemoryTransport({ retryDelayMs: 200, onError: () => {} });
    await transport.ensureTopics(topicSpecs(defaultKinds(), 2));
    const producer = await transport.producer();
    const metrics = new PipelineMetrics({ defaultMetrics: false });
    const counter = await influxWriteCounter(server.url);
    const config = { INFLUX_URL: counter.url, INFLUX_TOKEN: server.token, INFLUX_ORG: server.org, INFLUX_BUCKET: server.bucket };
    const stage = await startInfluxSink(
      { config, registry: city, transport, metrics, logger: pino({ level: 'silent' }) },
      { maxRetryDelayMs: 1000, rollupRetryMs: 2000 },
    );
    const published = { lighting: 0, parking: 0, nodes: 0, groundwater_reading: 0, noise_reading: 0 };
    const t0 = Date.now();
    const timeline: string[] = [];
    try {
      let producing = true;
      let last = 0;
      const producerLoop = (async () => {
        for (let i = 0; producing; i++) {
          const ts = (last = Math.max(testNow(), last + 1)); // distinct per record: one point each
          await producer.send(TOPICS.metrics('streetlight'), [msg('city', { ts, kpis: lighting(i) })]);
          await producer.send(TOPICS.metrics('parking'), [msg('city', { ts, kpis: parking(i) })]);
          await producer.send(TOPICS.nodeMetrics, [msg('city', { ts, kpis: nodes(i) })]);
          await producer.send(TOPICS.raw, [
            msg(well.nodeId, {
              type: 'reading',
              nodeId: well.nodeId,
              kind: 'groundwater',
              district: well.district,
              receivedAt: ts,
              reading: { ts, waterTableM: 28 + (i % 10) / 100 },
            }),
            msg(station.nodeId, {
              type: 'reading',
              nodeId: station.nodeId,
              kind: 'noise',
              district: station.district,
              receivedAt: ts,
              reading: { ts, laeq: 50 + (i % 7), periodS: 60 },
            }),
          ]);
          published.lighting++;
          published.parking++;
          published.nodes++;
          published.groundwater_reading++;
          published.noise_reading++;
          await sleep(100);
        }
      })();

      // Halt once the sink is writing.
      await waitFor(
        async () => (await metrics.sinkPointsWritten.get()).values.reduce((n, v) => n + v.value, 0) > 0,
        30_000,
        'points written before the outage',
      );
      const publishedAtHalt = published.lighting;
      await server.halt();
      timeline.push(`halted at ${((Date.now() - t0) / 1000).toFixed(1)} s (state ${server.state})`);
      expect(server.state).toBe('halted');
      await sleep(30_000);
      const r0 = Date.now();
      await server.resume();
      const publishedAtResume = published.lighting;
      timeline.push(`resumed at ${((Date.now() - t0) / 1000).toFixed(1)} s (/health after ${((Date.now() - r0) / 1000).toFixed(1)} s)`);
      await sleep(Math.max(0, 45_000 - (Date.now() - t0)));
      producing = false;
      await producerLoop;
      timeline.push(`stopped producing at ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      const d0 = Date.now();
      await drained(stage.sink, 90_000);
      timeline.push(`lag 0 ${((Date.now() - d0) / 1000).toFixed(1)} s later`);

      const counts: Record<string, number> = {};
      for (const m of Object.keys(published))
        counts[m] = Number(
          (await select(server.url, server.database, `SELECT count(*) FROM "${m}"`))[0]?.[
            m === 'lighting'
              ? 'count_lit'
              : m === 'parking'
                ? 'count_occupancy'
                : m === 'nodes'
                  ? 'count_total'
                  : m === 'groundwater_reading'
                    ? 'count_waterTableM'
                    : 'count_laeq'
          ] ?? 0,
        );
      const errors = (await metrics.sinkWriteErrors.get()).values;
      const errorTotal = errors.reduce((n, v) => n + v.value, 0);
      console.log(
        `outage test: ${timeline.join('; ')}; published ${JSON.stringify(published)}; counted ${JSON.stringify(counts)}; write errors ${JSON.stringify(errors.map((e) => [e.labels.cause, e.value]))}; ${counter.unacknowledged} write requests unacknowledged`,
      );
      expect(counts).toEqual(published);
      // Exactly once: every point acknowledged by InfluxDB in exactly one write, none written again.
      expect(counter.notOnce()).toEqual({});
      expect(Object.fromEntries(Object.keys(published).map((m) => [m, counter.points(m)]))).toEqual(published);
      // The outage lay inside the publishing: records were published while InfluxDB was down and after.
      expect(publishedAtHalt).toBeGreaterThan(0);
      expect(publishedAtResume).toBeGreaterThan(publishedAtHalt);
      expect(published.lighting).toBeGreaterThan(publishedAtResume);
      expect(errorTotal).toBeGreaterThan(0);
      expect(counter.unacknowledged).toBeGreaterThan(0);
      expect((await metrics.sinkPointsRejected.get()).values.reduce((n, v) => n + v.value, 0)).toBe(0);
    } finally {
      await stage.close();
      await transport.close();
      await counter.close();
    }
  }, 180_000);
});
