import { describe, expect, it } from 'vitest';
import { generateCity } from '../core/index.js';
import { SimulationEngine, selectNodes, type PublishSink } from './engine.js';
import { buildScenario } from './scenarios.js';
import { defaultKinds } from '../core/kinds/modules.js';

const city = generateCity(defaultKinds(), { lamps: 200, parkingSpaces: 120, noiseStations: 12, wells: 5 });
const nodes = [...city.all()];
const START = Date.parse('2026-03-09T14:00:00Z'); // 22:00 local
const WALL0 = 5_000_000;

type Msg = { topic: string; payload: string; wall: number };
class Sink implements PublishSink {
  messages: Msg[] = [];
  wall = WALL0;
  publish(_route: number, topic: string, payload: string, done: (error?: Error) => void): void {
    this.messages.push({ topic, payload, wall: this.wall });
    done();
  }
}

function engineFor(opts: { speed: number; rate?: number; warmupS?: number; scenario?: string }) {
  const sink = new Sink();
  const engine = new SimulationEngine(
    {
      registry: city,
      nodes,
      scenario: buildScenario(opts.scenario ?? 'normal', nodes, { seed: 9, start: START, kinds: defaultKinds() }),
      seed: 9,
      rate: opts.rate ?? Infinity,
      speed: opts.speed,
      start: START,
      wallStart: WALL0,
      warmupS: opts.warmupS ?? 20,
      maxBatch: 200,
      gatewayFlushMs: 500,
      maxInflight: 1e9,
    },
    sink,
  );
  const runTo = (wallMs: number, stepMs = 50) => {
    for (let w = 0; w <= wallMs; w += stepMs) {
      sink.wall = WALL0 + w;
      engine.step(WALL0 + w);
    }
  };
  return { sink, engine, runTo };
}

function readingsOf(messages: Msg[]) {
  const out: { nodeId: string; kind: string; ts: number; seq: number; wall: number; topic: string; r: Record<string, unknown> }[] = [];
  for (const m of messages) {
    const body = JSON.parse(m.payload);
    if (m.topic.endsWith('/batch')) {
      for (const r of body.readings) out.push({ nodeId: r.nodeId, kind: r.kind, ts: r.ts, seq: r.seq, wall: m.wall, topic: m.topic, r });
    } else {
      const [, , kind, nodeId] = m.topic.split('/') as [string, string, string, string];
      out.push({ nodeId, kind, ts: body.ts, seq: body.seq, wall: m.wall, topic: m.topic, r: body });
    }
  }
  return out;
}

describe('simulation engine', () => {
  it('boots every node within the warm-up, then reports at its interval with increasing seq, valid payloads', () => {
    const { sink, engine, runTo } = engineFor({ speed: 60 });
    runTo(31_000); // 31 simulated minutes
    engine.flushAll();
    const rs = readingsOf(sink.messages);
    const byNode = new Map<string, typeof rs>();
    for (const r of rs) {
      const list = byNode.get(r.nodeId) ?? [];
      list.push(r);
      byNode.set(r.nodeId, list);
    }
    expect(byNode.size).toBe(nodes.length);
    for (const node of nodes) {
      const list = byNode.get(node.nodeId)!;
      expect(list[0]!.ts - START).toBeLessThan(
        20_000 + (city.expectedIntervalS(node) * 1000 <= 20_000 ? city.expectedIntervalS(node) * 1000 : 0),
      );
      list.forEach((r, k) => expect(r.seq).toBe(list[0]!.seq + k));
      for (let k = 1; k < list.length; k++) expect(list[k]!.ts).toBeGreaterThan(list[k - 1]!.ts);
      if (node.kind !== 'parking') {
        // After the boot reading, one reading per interval.
        const interval = city.expectedIntervalS(node) * 1000;
        const regular = list.filter((r) => r.ts - START >= 20_000 || interval <= 20_000);
        for (let k = 2; k < regular.length; k++) expect(regular[k]!.ts - regular[k - 1]!.ts).toBe(interval);
        expect(node.gatewayId ? list[0]!.topic : '').toBe(node.gatewayId ? `city/gateways/${node.gatewayId}/batch` : '');
      }
      for (const r of list) {
        const { nodeId: _n, kind: _k, ...fields } = r.r;
        expect(city.kinds.get(node.kind)!.reading.safeParse(fields).success).toBe(true);
        expect(r.kind).toBe(node.kind);
      }
    }
    // Lamps: 200 lamps * (31 min / 5 min) ~ 1240 + boot; load is spread, not in one burst after the boot.
    const lampReadings = rs.filter((r) => r.kind === 'streetlight' && r.ts - START > 60_000);
    const perMinute = new Map<number, number>();
    for (const r of lampReadings)
      perMinute.set(Math.floor((r.ts - START) / 60_000), (perMinute.get(Math.floor((r.ts - START) / 60_000)) ?? 0) + 1);
    expect(Math.max(...perMinute.values())).toBeLessThan(200);
  });

  it('parking sends events on change and heartbeats every 10 minutes', () => {
    const { sink, engine, runTo } = engineFor({ speed: 600 });
    runTo(12_000); // 2 simulated hours
    engine.flushAll();
    const parking = readingsOf(sink.messages).filter((r) => r.kind === 'parking');
    const events = parking.filter((r) => r.r.heartbeat === false);
    const beats = parking.filter((r) => r.r.heartbeat === true);
    expect(events.length).toBeGreaterThan(20);
    expect(beats.length).toBeGreaterThan(120 * 11);
    // An event always reports a state different from the node's previous message.
    const last = new Map<string, unknown>();
    for (const r of parking.sort((a, b) => a.ts - b.ts)) {
      if (r.r.heartbeat === false) expect(r.r.status).not.toBe(last.get(r.nodeId));
      last.set(r.nodeId, r.r.status);
    }
  });

  it('honours the rate with a token bucket and reports lag when behind', () => {
    const { sink, engine, runTo } = engineFor({ speed: 600, rate: 100 });
    runTo(5_000);
    engine.flushAll();
    const n = readingsOf(sink.messages).length;
    // 5 s at 100/s plus the initial burst of 25.
    expect(n).toBeGreaterThan(450);
    expect(n).toBeLessThanOrEqual(530);
    expect(engine.stats().lagS).toBeGreaterThan(0);
    expect(engine.stats().readings).toBe(n);
  });

  it('runs the simulated clock at speed X and stamps readings with simulated time', () => {
    const { sink, runTo } = engineFor({ speed: 120 });
    runTo(10_000);
    const rs = readingsOf(sink.messages);
    for (const r of rs) {
      const simAtWall = START + (r.wall - WALL0) * 120;
      expect(r.ts).toBeLessThanOrEqual(simAtWall);
      expect(simAtWall - r.ts).toBeLessThanOrEqual(500 * 120 + 50 * 120); // gateway hold + one step
    }
    expect(Math.max(...rs.map((r) => r.ts)) - START).toBeGreaterThan(1_150_000);
  });

  it('selectNodes keeps the mix of kinds under a node limit', () => {
    const some = selectNodes(city, 60);
    expect(some.length).toBeLessThanOrEqual(60);
    // Every kind of the catalog, the profile kinds' too.
    expect(new Set(some.map((n) => n.kind))).toEqual(new Set(city.kinds.names()));
    expect(some.filter((n) => n.kind === 'streetlight').length).toBeGreaterThan(some.filter((n) => n.kind === 'parking').length);
    expect(selectNodes(city).length).toBe(city.size);
  });
});
