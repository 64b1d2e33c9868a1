import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { influxdbFixture, INFLUXDB_FIXTURE_TIMEOUT_MS } from '../infra/fixtures/influxdb.js';
import { dedicatedKafka, type KafkaBroker } from '../infra/fixtures/kafka.js';
import { select } from '../test/influxql.js';
import { influxWriteCounter } from '../test/influx-write-counter.js';
import { waitFor } from '../test/helpers.js';
import { publishAll } from '../test/publish.js';
import {
  acceptedIn,
  expectKpisToReach,
  processedIn,
  publishes,
  referenceKpis,
  rejectedIn,
  SETTINGS,
  withMalformed,
  withoutRejections,
} from '../test/reference.js';
import { spawnStage, type StageProcess } from '../test/stage-process.js';

/**
 * SIGKILL of each stage in turn (ingest, one of two processors, api, sink), mid-stream on a real
 * Kafka broker and a real InfluxDB, and a restart on the same ports. Devices resend what was not
 * acknowledged. Nothing is lost: every publish is acknowledged, sent = processed + rejected, each
 * valid reading counted once in the KPIs (equal to the uninterrupted embedded run) and stored once
 * in InfluxDB. The sink writes through a proxy that counts InfluxDB's acknowledged writes per point
 * (the database overwrites a point written again, so only the proxy can see a double).
 *
 * A killed `process` instance's processed counter dies with it: its count is read just before the
 * kill, which comes once both processors are idle at 40 % (the stream paused there), so that
 * count is exact; with the live counters it must reach every valid reading.
 */

/**
 * Half the reference readings (four runs in one file), with one malformed publish per 20 valid
 * ones, each unique, on a real node's topic: rejected as bad-json.
 */
const READINGS = 5000;
const valid = publishes.slice(0, READINGS);
const { stream, malformed: MALFORMED } = withMalformed(valid);
const SENT = stream.length;
const validOf = (kind: string) => valid.filter((p) => p.topic.split('/')[2] === kind).length;

describe('SIGKILL of a stage mid-stream on Kafka, then a restart', () => {
  let reference: unknown;
  const running: StageProcess[] = [];
  const brokers: KafkaBroker[] = [];

  beforeAll(async () => {
    await influxdbFixture();
    reference = withoutRejections(await referenceKpis(valid));
  }, INFLUXDB_FIXTURE_TIMEOUT_MS);

  afterAll(async () => {
    for (const p of running) p.child.kill('SIGKILL');
    for (const b of brokers) await b.stop();
    await (await influxdbFixture().catch(() => null))?.release();
  }, 60_000);

  it.each(['ingest', 'process', 'api', 'sink'] as const)(
    'SIGKILL of %s at 40 per cent of the stream: sent = processed + rejected, KPIs equal the uninterrupted run, InfluxDB holds every reading once',
    async (victim) => {
      const t0 = Date.now();
      const timeline: string[] = [];
      const mark = (what: string) => timeline.push(`${what} ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      // A broker of this case's own (fresh topics and consumer groups), and a database.
      const broker = await dedicatedKafka();
      brokers.push(broker);
      // This case's stages end with it, passed or failed: a failed case must not leave five stages
      // and a broker running into the next one.
      const firstOfCase = running.length;
      let closeWrites = async () => {};
      try {
        const influx = await influxdbFixture();
        const database = `stagekill_${victim}_${process.pid}_${Date.now()}`;
        const created = await fetch(`${influx.url}/query?${new URLSearchParams({ q: `CREATE DATABASE "${database}"` }).toString()}`, {
          method: 'POST',
          headers: { Authorization: `Token ${influx.token}` },
        });
        expect(created.status, await created.text()).toBe(200);
        const env = { KAFKA_BROKERS: broker.brokers.join(','), ...SETTINGS, MQTT_AUTH: 'off' };
        const writes = await influxWriteCounter(influx.url);
        closeWrites = () => writes.close();
        const sinkEnv = {
          ...env,
          INFLUX_URL: writes.url,
          INFLUX_TOKEN: influx.token,
          INFLUX_ORG: influx.org,
          INFLUX_BUCKET: `${database}/autogen`,
        };
        const spawn = async (stage: string, stageEnv: Record<string, string>, ports?: { httpPort: number; mqttPort: number }) => {
          const p = await spawnStage(stage, stageEnv, ports);
          running.push(p);
          return p;
        };
        // ingest first (it creates the topics), then the others side by side.
        let ingest = await spawn('ingest', env);
        const [procA, procB, api0, sink0] = await Promise.all([
          spawn('process', env),
          spawn('process', env),
          spawn('api', env),
          spawn('sink', sinkEnv),
        ]);
        const processors = [procA, procB];
        let [api, sink] = [api0, sink0];
        mark('stages up');

        let killed: Promise<void> | null = null;
        const restart = async (p: StageProcess, stageEnv: Record<string, string>): Promise<StageProcess> => {
          p.child.kill('SIGKILL');
          await p.exited;
          await sleep(1000);
          return spawn(p.name, stageEnv, { httpPort: p.httpPort, mqttPort: p.mqttPort });
        };
        const processed = async () =>
          (await Promise.all(processors.map(async (p) => processedIn(await p.metrics())))).reduce((a, b) => a + b, 0);
        const cut = Math.floor(SENT * 0.4);
        /** The killed processor's count at its death (`process` only). */
        let victimProcessed = 0;
        let acked = 0;
        if (victim === 'process') {
          // Up to 40 %, then the kill once everything published is processed: the victim's count read then is final.
          acked += (await publishAll(`mqtt://127.0.0.1:${ingest.mqttPort}`, stream.slice(0, cut), { timeoutMs: 180_000 })).acked;
          const validBefore = stream.slice(0, cut).filter((p) => !p.payload.endsWith('"broken":')).length;
          await waitFor(
            async () => (await processed()) === validBefore,
            120_000,
            `the ${validBefore} valid readings before the kill processed`,
          );
          victimProcessed = processedIn(await processors[1]!.metrics());
          killed = (async () => {
            mark(`SIGKILL process (it had processed ${victimProcessed})`);
            processors[1] = await restart(processors[1]!, env);
            mark('restarted');
          })();
          await killed;
          acked += (await publishAll(`mqtt://127.0.0.1:${ingest.mqttPort}`, stream.slice(cut), { timeoutMs: 180_000 })).acked;
        } else {
          acked = (
            await publishAll(`mqtt://127.0.0.1:${ingest.mqttPort}`, stream, {
              timeoutMs: 180_000,
              onAck: (n) => {
                if (n !== cut || killed) return;
                killed = (async () => {
                  mark(`SIGKILL ${victim}`);
                  if (victim === 'ingest') ingest = await restart(ingest, env);
                  else if (victim === 'api') api = await restart(api, env);
                  else sink = await restart(sink, sinkEnv);
                  mark('restarted');
                })();
              },
            })
          ).acked;
        }
        expect(killed).not.toBeNull();
        await killed;
        // Every publish acknowledged: those lost with a dead ingest were resent by the devices.
        expect(acked).toBe(SENT);
        mark('all acknowledged');

        const diagnose = (error: Error) => {
          throw new Error(
            `${error.message} (${timeline.join(', ')})\n${[ingest, ...processors, api, sink].map((p) => `--- ${p.name} ---\n${p.output().slice(-2000)}`).join('\n')}`,
          );
        };
        // Processors count a reading once (repeats are recognised). A SIGKILLed processor's count
        // dies with it (read at its death, above); the new owner re-reads its partitions from the
        // snapshot without counting, and a batch applied but not committed before a hand-over may be
        // counted again (README), so then: at least every valid reading.
        if (victim !== 'process')
          await waitFor(async () => (await processed()) === READINGS, 120_000, `processed = ${READINGS} valid readings`).catch(diagnose);
        else
          await waitFor(
            async () => victimProcessed + (await processed()) >= READINGS,
            120_000,
            `processed >= ${READINGS} valid readings, the dead processor's ${victimProcessed} included`,
          ).catch(diagnose);

        mark('processed');
        const apiUrl = `http://127.0.0.1:${api.httpPort}`;
        await expectKpisToReach(apiUrl, reference, 120_000, expect, withoutRejections);
        mark('KPIs equal');

        // Rejected: counted exactly by ingest (unless ingest itself restarted: a dead ingest may have
        // appended a rejected message it never acknowledged, and the resent copy is rejected again),
        // and shown by the API from the processors' view of telemetry.dlq: exactly, except after an
        // ingest restart (a lower bound then, for the resent copies).
        let rejections = 0;
        await waitFor(
          async () => {
            const kpis = (await (await fetch(`${apiUrl}/api/v1/kpis`)).json()) as { nodes: { rejectedLast5m: Record<string, number> } };
            rejections = kpis.nodes.rejectedLast5m['bad-json'] ?? 0;
            return rejections >= MALFORMED;
          },
          30_000,
          `the API to show ${MALFORMED} bad-json rejections`,
        ).catch(diagnose);
        if (victim !== 'ingest') expect(rejections).toBe(MALFORMED);
        // No reading dead-lettered as late by the processors because a stage died.
        const late = (await Promise.all(processors.map(async (p) => rejectedIn(await p.metrics())))).reduce((a, b) => a + b, 0);
        expect(late).toBe(0);
        if (victim !== 'ingest') {
          // sent = accepted + rejected at the door, on ingest's counters ...
          const ingestText = await ingest.metrics();
          expect(acceptedIn(ingestText)).toBe(READINGS);
          expect(rejectedIn(ingestText)).toBe(MALFORMED);
        }
        // ... and sent = processed + rejected (a dead ingest's counts die with it, so then the rejected
        // are the MALFORMED sent, seen in the API above); after a processor kill, at least.
        if (victim !== 'process') expect((await processed()) + late + MALFORMED).toBe(SENT);
        else expect(victimProcessed + (await processed()) + late + MALFORMED).toBeGreaterThanOrEqual(SENT);

        // The sink (restarted or not) wrote every low-rate reading once: one point per node and event time.
        const want = { groundwater: validOf('groundwater'), noise: validOf('noise') };
        let got = { groundwater: 0, noise: 0 };
        await waitFor(
          async () => {
            const [g] = await select(influx.url, database, 'SELECT count(waterTableM) FROM groundwater_reading');
            const [n] = await select(influx.url, database, 'SELECT count(laeq) FROM noise_reading');
            got = { groundwater: Number(g?.count ?? 0), noise: Number(n?.count ?? 0) };
            return got.groundwater >= want.groundwater && got.noise >= want.noise;
          },
          90_000,
          'InfluxDB to hold every groundwater and noise reading',
        ).catch((e: Error) => diagnose(new Error(`${e.message}; have ${JSON.stringify(got)}, want ${JSON.stringify(want)}`)));
        expect(got).toEqual(want);
        // Written: every reading acknowledged by InfluxDB at least once, as its own point ...
        const readings = ['groundwater_reading', 'noise_reading'];
        expect({ groundwater: writes.points('groundwater_reading'), noise: writes.points('noise_reading') }).toEqual(want);
        // ... and exactly once unless ingest or the sink died: a reading a device resent after its
        // append (PUBACK lost with ingest) or a batch written but not committed (sink) is written again.
        const doubled = writes.notOnce(readings);
        if (victim === 'process' || victim === 'api') expect(doubled).toEqual({});
        mark('InfluxDB complete');
        console.log(
          `SIGKILL ${victim}: ${timeline.join(', ')}; API bad-json rejections ${rejections} of ${MALFORMED}; processed ${victim === 'process' ? `${victimProcessed} (dead) + ${await processed()} (live)` : await processed()}; readings written to InfluxDB more than once ${Object.keys(doubled).length}`,
        );
      } finally {
        for (const p of running.splice(firstOfCase)) p.child.kill('SIGKILL');
        await closeWrites();
        await broker.stop();
      }
    },
    300_000,
  );
});
