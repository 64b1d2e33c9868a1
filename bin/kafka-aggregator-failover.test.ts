import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { TOPICS, type Alert, type StreamRecord } from '../core/index.js';
import { KafkaTransport } from '../core/stream/kafka/index.js';
import { kafkaFixture } from '../infra/fixtures/kafka.js';
import { EPOCH_HEADER, INSTANCE_HEADER } from '../processors/aggregator.js';
import { readToEnd } from '../processors/state/index.js';
import { metricValue, waitFor } from '../test/helpers.js';
import { publishAll } from '../test/publish.js';
import type { Publish } from '../test/readings.js';
import { expectKpisToReach, publishes, READINGS, referenceKpis, SETTINGS } from '../test/reference.js';
import { spawnStage, type StageProcess } from '../test/stage-process.js';

/** No hold times: an alert fires and resolves at the first evaluation that sees its condition come and go. */
// Every evaluation's changes on the metrics topics, and every section again each second (as before
// they were rate-limited): the follower serves the leader's latest KPIs, and metrics.nodes counts evaluations.
const ENV = {
  ...SETTINGS,
  ALERT_HOLD_S: '0',
  ALERT_RESOLVE_HOLD_S: '0',
  LOG_LEVEL: 'info',
  METRICS_SUMMARY_INTERVAL_S: '0',
  METRICS_ITEM_INTERVAL_S: '0',
  METRICS_REFRESH_S: '1',
};
/** What the issue promises: another instance aggregates within 30 s of the death of the one that did. */
const TAKEOVER_LIMIT_MS = 30_000;

/** A node of the reference stream, and a reading of it with `battery` (no seq: no repeat of its earlier readings). */
const first = JSON.parse(publishes[3]!.payload) as Record<string, unknown>;
const topic = publishes[3]!.topic;
const nodeId = topic.split('/')[3]!;
const lastTs = Math.max(...publishes.filter((p) => p.topic === topic).map((p) => (JSON.parse(p.payload) as { ts: number }).ts));
const batteryReading = (battery: number, ts: number): Publish => {
  const { seq: _seq, ...body } = first;
  return { topic, payload: JSON.stringify({ ...body, ts, battery }) };
};
const HALF = READINGS / 2;
/** The first half and a low battery (NodeBatteryLow fires); after the kill the second half and a full battery (it resolves). */
const phases = {
  before: [...publishes.slice(0, HALF), batteryReading(0.05, lastTs + 1000)],
  after: [...publishes.slice(HALF), batteryReading(0.9, lastTs + 2000)],
};

const url = (p: StageProcess, path: string) => `http://127.0.0.1:${p.httpPort}${path}`;
const leaderGauge = async (p: StageProcess) => metricValue(await p.metrics(), 'citybrain_aggregator_leader');
async function batteryAlert(p: StageProcess): Promise<Alert | undefined> {
  const body = (await (await fetch(url(p, '/api/v1/alerts'))).json()) as { items: Alert[] };
  return body.items.find((a) => a.alertname === 'NodeBatteryLow' && a.labels.node === nodeId);
}
async function post(p: StageProcess, path: string, body: unknown): Promise<{ status: number; body: Alert }> {
  const response = await fetch(url(p, path), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Alert };
}

/** Every KPI and alert record of the log in order: which instance (pid) of which term wrote it. */
async function writers(brokers: string): Promise<{ topic: string; instance: string; epoch: number }[]> {
  const transport = new KafkaTransport({ brokers, logger: pino({ level: 'silent' }) });
  try {
    const out: { topic: string; instance: string; epoch: number }[] = [];
    const add = (r: StreamRecord) =>
      out.push({ topic: r.topic, instance: r.headers[INSTANCE_HEADER] ?? '?', epoch: Number(r.headers[EPOCH_HEADER] ?? 0) });
    await readToEnd(transport, TOPICS.nodeMetrics, add);
    await readToEnd(transport, TOPICS.metrics('parking'), add);
    await readToEnd(transport, TOPICS.alerts, add);
    return out;
  } finally {
    await transport.close();
  }
}
/** The writers of one topic in log order, runs of the same writer collapsed. */
const runs = (records: { topic: string; instance: string }[], topic: string) =>
  records.filter((r) => r.topic === topic).reduce<string[]>((acc, r) => (acc.at(-1) === r.instance ? acc : [...acc, r.instance]), []);

/**
 * Two `api` instances on a real Kafka with ingest and a processor: exactly one aggregates (KPIs and
 * the alert lifecycle), the other serves what it publishes and passes acknowledgements on. The
 * aggregating one is SIGKILLed: the other takes over within 30 s with the alert as it was (id,
 * start and fire time, acknowledgement, note); KPIs go on to equal an uninterrupted embedded run;
 * /api/v1/kpis answers from the survivor throughout.
 */
describe('aggregation failover between api instances on Kafka', () => {
  const running: StageProcess[] = [];
  let brokers = '';
  let reference: unknown;
  let env: Record<string, string>;
  let apis: StageProcess[] = [];
  let leader: StageProcess;
  let follower: StageProcess;

  beforeAll(async () => {
    reference = await referenceKpis([...phases.before, ...phases.after]);
    brokers = (await kafkaFixture()).brokers.join(',');
    env = { KAFKA_BROKERS: brokers, ...ENV };
  }, 300_000);

  afterAll(async () => {
    for (const p of running) p.child.kill('SIGKILL');
    await (await kafkaFixture().catch(() => null))?.release();
  });

  it('exactly one of two api instances aggregates and publishes; the other serves the same KPIs and alerts and passes acknowledgements on', async () => {
    const ingest = await spawnStage('ingest', env);
    running.push(ingest, await spawnStage('process', env));
    apis = [await spawnStage('api', env), await spawnStage('api', env)];
    running.push(...apis);
    const gauges = async () => Promise.all(apis.map(leaderGauge));
    await waitFor(async () => (await gauges()).sort().join() === '0,1', 60_000, 'one api instance aggregating, the other not');
    // The first instance aggregates: the one started after it took nothing away (sticky assignment).
    expect(await gauges()).toEqual([1, 0]);
    [leader, follower] = apis as [StageProcess, StageProcess];

    expect((await publishAll(`mqtt://127.0.0.1:${ingest.mqttPort}`, phases.before)).acked).toBe(phases.before.length);
    const fired = await waitFor(
      async () => (await batteryAlert(follower))?.state === 'firing' && batteryAlert(follower),
      60_000,
      'NodeBatteryLow on the follower',
    );
    // Every KPI and alert record on the log so far is the leader's, while both run.
    const records = await writers(brokers);
    const pids = new Set(records.map((r) => r.instance.split('-').at(-1)));
    expect(records.length).toBeGreaterThan(0);
    expect([...pids], `writers of ${records.length} KPI and alert records`).toEqual([String(leader.child.pid)]);
    expect(await batteryAlert(leader)).toMatchObject({ id: fired.id, startsAt: fired.startsAt, firedAt: fired.firedAt });
    // Both serve the same KPIs once the follower has the leader's latest evaluation.
    await waitFor(
      async () => {
        const [l, f] = await Promise.all([leader, follower].map(async (p) => (await fetch(url(p, '/api/v1/kpis'))).text()));
        return l === f;
      },
      30_000,
      'the same KPIs from both instances',
    );

    // Acknowledged on the follower: the leader makes the change; both show it.
    const ack = await post(follower, `/api/v1/alerts/${fired.id}/ack`, { by: 'Wang Lei', note: 'crew on site' });
    expect(ack.status).toBe(200);
    expect(ack.body).toMatchObject({ id: fired.id, state: 'acknowledged', acknowledgedBy: 'Wang Lei' });
    expect(await batteryAlert(leader)).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'Wang Lei' });
  }, 300_000);

  it('SIGKILL of the aggregating instance: the other takes over within 30 s with the alert kept; KPIs go on; the survivor answers throughout', async () => {
    expect(leader, 'the first test found the leader').toBeDefined();
    const fired = (await batteryAlert(follower))!;
    expect(fired.state).toBe('acknowledged');

    // Both instances polled all along; the survivor must never fail.
    const failures = new Map<StageProcess, string[]>(apis.map((p) => [p, []]));
    let polling = true;
    let killedAt = Infinity;
    let rounds = 0;
    const poll = (async () => {
      for (; polling; rounds++) {
        await Promise.all(
          apis.map(async (p) => {
            // When the answer (or the failure) came, after the kill or before it (negative).
            const failed = (why: string) => failures.get(p)!.push(`${Date.now() - killedAt} ms: ${why}`);
            try {
              const response = await fetch(url(p, '/api/v1/kpis'), { signal: AbortSignal.timeout(5000) });
              if (response.status !== 200) failed(`${response.status} ${await response.text()}`);
            } catch (error) {
              failed((error as Error).message);
            }
          }),
        );
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    await waitFor(() => rounds >= 3, 30_000, 'a few rounds of polls before the kill');

    killedAt = Date.now();
    leader.child.kill('SIGKILL');
    await leader.exited;
    await waitFor(async () => (await leaderGauge(follower)) === 1, 60_000, 'the survivor aggregating');
    const takeoverMs = Date.now() - killedAt;
    console.log(`aggregation taken over ${takeoverMs} ms after the SIGKILL`);
    expect(takeoverMs).toBeLessThan(TAKEOVER_LIMIT_MS);

    // The alert as it was: id, start, fire time, acknowledgement and note. It can be noted and then resolves.
    const taken = (await batteryAlert(follower))!;
    expect(taken).toMatchObject({
      id: fired.id,
      startsAt: fired.startsAt,
      firedAt: fired.firedAt,
      state: 'acknowledged',
      acknowledgedBy: 'Wang Lei',
      notes: fired.notes,
    });
    const note = await post(follower, `/api/v1/alerts/${fired.id}/notes`, { by: 'Li Na', note: 'battery swapped' });
    expect(note.status).toBe(200);
    expect(note.body.notes?.map((n) => n.text)).toEqual(['crew on site', 'battery swapped']);

    // New readings change the KPIs: they reach those of an uninterrupted run of every reading.
    const ingest = running.find((p) => p.name === 'ingest')!;
    expect((await publishAll(`mqtt://127.0.0.1:${ingest.mqttPort}`, phases.after)).acked).toBe(phases.after.length);
    await expectKpisToReach(url(follower, ''), reference, 120_000, expect);
    const resolved = await waitFor(
      async () => (await batteryAlert(follower))?.state === 'resolved' && batteryAlert(follower),
      60_000,
      'the alert resolved',
    );
    expect(resolved).toMatchObject({ id: fired.id, startsAt: fired.startsAt, firedAt: fired.firedAt, acknowledgedBy: 'Wang Lei' });

    polling = false;
    await poll;
    console.log(`${rounds} rounds of /api/v1/kpis polls on both instances`);
    expect(failures.get(follower), 'failed /api/v1/kpis on the survivor (ms after the kill)').toEqual([]);
    expect(
      failures.get(leader)!.filter((f) => Number(f.split(' ')[0]) < 0),
      'failures of the killed one before the kill',
    ).toEqual([]);

    // One writer at a time: the killed instance's records, then only the survivor's, of a later term.
    const records = await writers(brokers);
    for (const t of [TOPICS.nodeMetrics, TOPICS.alerts]) {
      expect(
        runs(records, t).map((i) => i.split('-').at(-1)),
        `writers of ${t} in log order`,
      ).toEqual([String(leader.child.pid), String(follower.child.pid)]);
    }
    const epochOf = (pid: number) => new Set(records.filter((r) => r.instance.endsWith(`-${pid}`)).map((r) => r.epoch));
    const [old, next] = [[...epochOf(leader.child.pid!)], [...epochOf(follower.child.pid!)]];
    expect(old).toHaveLength(1);
    expect(next).toHaveLength(1);
    expect(next[0]).toBeGreaterThan(old[0]!);
  }, 400_000);

  it('a hung aggregating instance (SIGSTOP) is fenced: another takes over, and once it runs again it evaluates nothing more and serves what the new one publishes', async () => {
    const hung = follower; // aggregating since the previous test
    expect(await leaderGauge(hung)).toBe(1);
    const next = await spawnStage('api', env);
    running.push(next);
    expect(await leaderGauge(next)).toBe(0);
    const stoppedAt = Date.now();
    hung.child.kill('SIGSTOP');
    await waitFor(async () => (await leaderGauge(next)) === 1, 60_000, 'the new instance aggregating');
    console.log(`aggregation taken over from a hung instance ${Date.now() - stoppedAt} ms after its SIGSTOP`);
    const evaluationsOfNext = async () =>
      (await writers(brokers)).filter((r) => r.topic === TOPICS.nodeMetrics && r.instance.endsWith(`-${next.child.pid}`)).length;
    const before = await evaluationsOfNext();
    hung.child.kill('SIGCONT');
    await waitFor(async () => (await leaderGauge(hung)) === 0, 30_000, 'the resumed instance no longer aggregating');
    // It serves the new instance's KPIs; meanwhile the new one went on evaluating.
    await waitFor(
      async () => {
        const [h, n] = await Promise.all([hung, next].map(async (p) => (await fetch(url(p, '/api/v1/kpis'))).text()));
        return h === n;
      },
      30_000,
      'the same KPIs from the resumed and the new instance',
    );
    await waitFor(async () => (await evaluationsOfNext()) >= before + 20, 60_000, '20 more evaluations of the new instance');
    expect(await leaderGauge(next)).toBe(1);
    // After the new term's first record, at most the one the hung instance had in flight at its SIGSTOP.
    const nodes = (await writers(brokers)).filter((r) => r.topic === TOPICS.nodeMetrics);
    const firstOfNext = nodes.findIndex((r) => r.instance.endsWith(`-${next.child.pid}`));
    const late = nodes.slice(firstOfNext).filter((r) => r.instance.endsWith(`-${hung.child.pid}`));
    expect(late.length, `records of the hung instance after the new term's first (of ${nodes.length - firstOfNext})`).toBeLessThanOrEqual(
      1,
    );
  }, 300_000);
});
