/**
 * Every scenario end to end: the simulator publishes over MQTT to the running pipeline (embedded,
 * in-process log) and the effect is read back where an operator sees it: the API's alerts, KPIs,
 * /metrics and live stream. One run for the healthy city, one for all the fault scenarios at once
 * (each checks its own effect, so they do not mask each other).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipeline, type RunningPipeline } from '../bin/pipeline.js';
import { generateCity, localDayStart, type NodeRegistry } from '../core/index.js';
import { testConfig, waitFor, metricValue } from '../test/helpers.js';
import { startSimulation, type Simulation } from './publisher.js';
import { buildScenario } from './scenarios.js';
import { defaultKinds } from '../core/kinds/modules.js';
import { effects } from '../test/scenario-effects.js';

const HOUR = 3_600_000;
/** 21:50 local yesterday: lamps on, night noise limits from 22:00, half-night not before 22:30. */
const START = localDayStart(Date.now()) - 2 * HOUR - 10 * 60_000;
const SPEED = 60;
const SETTINGS = { ALERT_HOLD_S: '30', ALERT_RESOLVE_HOLD_S: '30', EVAL_INTERVAL_MS: '250', LOG_LEVEL: 'silent' };

type Alert = { alertname: string; labels: Record<string, string> };

async function run(registry: NodeRegistry, scenario: string, tuning = {}) {
  const pipeline = await startPipeline({ config: testConfig(SETTINGS), registry, defaultMetrics: false });
  const api = `http://127.0.0.1:${pipeline.httpPort}`;
  const sim = await startSimulation({
    url: `mqtt://127.0.0.1:${pipeline.mqttPort}`,
    registry,
    scenario,
    seed: 4,
    speed: SPEED,
    start: START,
    warmupS: 5,
    gatewayFlushMs: 200,
    tuning,
  });
  const alerts = async (): Promise<Alert[]> =>
    ((await (await fetch(`${api}/api/v1/alerts?state=firing`)).json()) as { items: Alert[] }).items;
  const kpis = async () => (await (await fetch(`${api}/api/v1/kpis`)).json()) as Record<string, Record<string, unknown>>;
  const metrics = async () => (await fetch(`${api}/metrics`)).text();
  return { pipeline, sim, api, alerts, kpis, metrics };
}

const city = generateCity(defaultKinds(), { lamps: 480, parkingSpaces: 400, noiseStations: 12, wells: 6 });

describe('scenario normal, end to end', () => {
  let r: Awaited<ReturnType<typeof run>> | undefined;
  afterAll(async () => {
    await r?.sim.stop();
    await r?.pipeline.close();
  });

  it('a healthy city: lighting rate over the branch target, no fault alerts, nothing rejected', async () => {
    r = await run(city, 'normal');
    const k = await waitFor(
      async () => {
        const k = await r!.kpis();
        return typeof k.lighting?.rate === 'number' && (k.nodes?.online as number) >= city.size * 0.95 ? k : undefined;
      },
      60_000,
      'every node reporting',
    );
    expect(k.lighting!.scheduledOn).toBe(true);
    expect(k.lighting!.rate as number).toBeGreaterThan(0.95);
    await new Promise((res) => setTimeout(res, 3000));
    const names = new Set((await r.alerts()).map((a) => a.alertname));
    for (const fault of [
      'CircuitDark',
      'GroundwaterBelowLine',
      'NoiseNightPeak',
      'NoiseOverLimit',
      'ParkingLotFull',
      'DataRejectedSurge',
      'RoadWaterlogging',
      'ManholeCoverOpen',
    ])
      expect(names.has(fault), fault).toBe(false);
    expect(metricValue(await r.metrics(), 'citybrain_readings_rejected_total')).toBe(0);
  }, 90_000);
});

describe('fault scenarios, end to end', () => {
  let r: Awaited<ReturnType<typeof run>> | undefined;
  let pipeline: RunningPipeline | undefined;
  let sim: Simulation | undefined;
  const scenarioName = 'circuit-dark+spring-drought+night-construction+parking-rush+gateway-outage+bad-payloads+rainstorm+cover-displaced';
  const tuning = { darkCircuits: 2, outageAfterS: 60, outageDurationS: 600, badShare: 0.03 };
  const plan = buildScenario(scenarioName, [...city.all()], { seed: 4, start: START, tuning, kinds: defaultKinds() });
  const outage = plan.outage!;
  const gatewayLamps = new Set(
    city
      .ofKind('streetlight')
      .filter((l) => l.gatewayId === outage.gatewayId)
      .map((l) => l.nodeId),
  );
  /** Reading events of the outage gateway's lamps from the live stream, in arrival order. */
  const streamed: { nodeId: string; ts: number }[] = [];
  let stopStream = () => {};

  beforeAll(async () => {
    r = await run(city, scenarioName, tuning);
    ({ pipeline, sim } = r);
    const controller = new AbortController();
    stopStream = () => controller.abort();
    const res = await fetch(`${r.api}/api/v1/stream?readings=true&kind=streetlight`, { signal: controller.signal });
    void (async () => {
      const decoder = new TextDecoder();
      let buf = '';
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buf += decoder.decode(chunk, { stream: true });
          let end: number;
          while ((end = buf.indexOf('\n\n')) >= 0) {
            const event = buf.slice(0, end);
            buf = buf.slice(end + 2);
            const data = /^data: (.*)$/m.exec(event)?.[1];
            if (!event.startsWith('event: reading') || !data) continue;
            const e = JSON.parse(data) as { nodeId: string; ts: number };
            if (gatewayLamps.has(e.nodeId)) streamed.push({ nodeId: e.nodeId, ts: e.ts });
          }
        }
      } catch {
        /* aborted */
      }
    })();
  }, 60_000);
  afterAll(async () => {
    stopStream();
    await sim?.stop();
    await pipeline?.close();
  });

  /** The firing alerts of one name matching `pred`, once there are at least `min` of them. */
  const firing = (name: string, pred: (a: Alert) => boolean = () => true, min = 1) =>
    waitFor(
      async () => {
        const list = (await r!.alerts()).filter((a) => a.alertname === name && pred(a));
        return list.length >= min ? list : undefined;
      },
      60_000,
      `${name} firing`,
    );

  it('circuit-dark raises one CircuitDark per dark circuit', async () => {
    // Each circuit fires once its own lamps' silence has been held: wait for all of them.
    const alerts = await firing('CircuitDark', (a) => effects(plan).darkCircuits.has(a.labels.circuit!), effects(plan).darkCircuits.size);
    expect(alerts).toHaveLength(effects(plan).darkCircuits.size);
    expect(new Set(alerts.map((a) => a.labels.circuit))).toEqual(effects(plan).darkCircuits);
  }, 70_000);

  it('spring-drought puts Baotu Spring below its yellow line (GroundwaterBelowLine)', async () => {
    const alerts = await firing('GroundwaterBelowLine', (a) => a.labels.well === 'Baotu Spring');
    expect(['yellow', 'orange', 'red']).toContain(alerts[0]!.labels.band);
  }, 70_000);

  it('night-construction raises NoiseNightPeak at the residential station', async () => {
    const [stationId] = [...effects(plan).noisyStations.keys()];
    const alerts = await firing('NoiseNightPeak', (a) => a.labels.node === stationId);
    expect(alerts[0]!.labels.zoneClass).toBe('1');
  }, 70_000);

  it('parking-rush fills lots (ParkingLotFull)', async () => {
    const alerts = await firing('ParkingLotFull');
    for (const a of alerts) expect(effects(plan).fullLots.has(a.labels.lot!)).toBe(true);
  }, 70_000);

  it('rainstorm floods points (RoadWaterlogging) and cover-displaced opens covers (ManholeCoverOpen), as their profiles say', async () => {
    const movedBy = (scenario: string) =>
      new Set([...effects(plan).profileTargets].filter(([, t]) => t.scenario === scenario).map(([id]) => id));
    const displaced = movedBy('cover-displaced');
    const flooded = movedBy('rainstorm');
    expect(displaced.size).toBeGreaterThan(0);
    expect(flooded.size).toBeGreaterThan(0);
    // No hold time: every displaced cover fires, critical; nothing else does.
    const open = await firing('ManholeCoverOpen', (a) => displaced.has(a.labels.node!), displaced.size);
    expect(open.every((a) => a.labels.severity === 'critical' && a.labels.kind === 'manhole')).toBe(true);
    expect((await r!.alerts()).filter((a) => a.alertname === 'ManholeCoverOpen').every((a) => displaced.has(a.labels.node!))).toBe(true);
    // Depth ramps over 30 simulated minutes, then over 0.15 m for the 2-minute hold.
    const water = await firing('RoadWaterlogging', (a) => flooded.has(a.labels.node!));
    expect(water[0]!.labels.kind).toBe('waterlogging');
  }, 70_000);

  it('bad-payloads: every kind of bad message is dead-lettered with its reason', async () => {
    const reasons = ['bad-json', 'bad-schema', 'unknown-node', 'node-mismatch', 'too-large', 'unknown-kind', 'topic-mismatch'];
    await waitFor(
      async () => {
        const text = await r!.metrics();
        return reasons.every((reason) => metricValue(text, 'citybrain_readings_rejected_total', { reason }) > 0);
      },
      60_000,
      'a rejection of every reason',
    );
  }, 70_000);

  it('gateway-outage: the buffered readings arrive after the outage, with their original timestamps, and are processed', async () => {
    await waitFor(() => sim!.stats().replayed > 0 && sim!.stats().buffered === 0, 60_000, 'the replay');
    const inWindow = (ts: number) => ts >= outage.from && ts < outage.to;
    await waitFor(
      () => streamed.filter((e) => inWindow(e.ts)).length >= sim!.stats().replayed,
      30_000,
      'the replayed readings on the live stream',
    );
    const replayed = streamed.filter((e) => inWindow(e.ts));
    // Lamps report every 300 s: 600 s of outage is two readings per lamp, each with its own original timestamp.
    expect(replayed.length).toBe(gatewayLamps.size * 2);
    expect(new Set(replayed.map((e) => `${e.nodeId}@${e.ts}`)).size).toBe(replayed.length);
    // Nothing of the window went through while the gateway was silent: the readings before the replay are all older.
    const firstReplayed = streamed.findIndex((e) => inWindow(e.ts));
    expect(streamed.slice(0, firstReplayed).every((e) => e.ts < outage.from)).toBe(true);
    expect(metricValue(await r!.metrics(), 'citybrain_readings_rejected_total', { reason: 'late' })).toBe(0);
  }, 70_000);
});
