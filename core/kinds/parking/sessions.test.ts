import { describe, expect, it } from 'vitest';
import { seededRandom, type NodeOf, type ReadingOf, type RegistryNode } from '../../index.js';
import { at, ctx, record } from '../../../test/fixtures.js';
import { evaluateWhole } from '../../../processors/types.js';
import { ParkingMerger } from './merge.js';
import { ParkingProcessor } from './processor.js';
import { addReport, emptySessions, sessionsOfDay } from './sessions.js';

const space = (i: number, lotId: string, spaces: number, district = 'Lixia'): RegistryNode => ({
  nodeId: `PK-${i}`,
  kind: 'parking',
  district,
  lat: 36.6,
  lon: 117,
  lotId,
  lotName: lotId,
  spaces,
});
const spaces = [
  space(1, 'LOT-1', 4),
  space(2, 'LOT-1', 4),
  space(3, 'LOT-1', 4),
  space(4, 'LOT-1', 4),
  space(5, 'LOT-2', 2, 'Shizhong'),
  space(6, 'LOT-2', 2, 'Shizhong'),
];
const byId = new Map(spaces.map((s) => [s.nodeId, s]));

/** Reports in ARRIVAL order: [space, local time, status]. */
const REPORTS: [number, string, 'occupied' | 'free'][] = [
  // PK-1: arrives 23:00 the evening before, leaves 08:30 (9 h 30 = 570 min, counts on the day it ends);
  // again 09:00-09:45 (45 min); heartbeat free at 11:50.
  [1, '2026-05-31T22:00', 'free'],
  [1, '2026-05-31T23:00', 'occupied'],
  [1, '2026-06-01T08:30', 'free'],
  [1, '2026-06-01T09:00', 'occupied'],
  [1, '2026-06-01T09:45', 'free'],
  // PK-2: first report occupied (arrival not seen: its dwell is unknown, not counted), free 10:00;
  // then 10:30-11:00 (30 min); heartbeat 11:50.
  [2, '2026-06-01T07:50', 'occupied'],
  [2, '2026-06-01T10:00', 'free'],
  [2, '2026-06-01T10:30', 'occupied'],
  [2, '2026-06-01T11:00', 'free'],
  // PK-3, out of order and repeated. True sequence: 09:00 free, 09:30 occupied, 10:10 free,
  // 10:20 occupied, 10:50 free -> sessions 09:30-10:10 (40 min) and 10:20-10:50 (30 min).
  [3, '2026-06-01T09:00', 'free'],
  [3, '2026-06-01T10:10', 'free'],
  [3, '2026-06-01T09:30', 'occupied'], // 40 min late
  [3, '2026-06-01T10:50', 'free'],
  [3, '2026-06-01T10:20', 'occupied'], // 30 min late
  [3, '2026-06-01T10:10', 'free'], // repeat
  [3, '2026-06-01T09:30', 'occupied'], // repeat, and older than the 1 h reorder window by now
  // PK-4 never reports: unknown, never free.
  // PK-5: a session of the previous day (21:00-23:00, not today's), then parked since 11:30.
  [5, '2026-05-31T20:00', 'free'],
  [5, '2026-05-31T21:00', 'occupied'],
  [5, '2026-05-31T23:00', 'free'],
  [5, '2026-06-01T11:30', 'occupied'],
  // PK-6: 11:10-11:40 (30 min); then 'occupied at 10:30' arrives 70 min behind the space's newest
  // report, beyond the 1 h reorder window: ignored (accepted, the session would stretch to 10:30-11:40).
  [6, '2026-06-01T10:00', 'free'],
  [6, '2026-06-01T11:10', 'occupied'],
  [6, '2026-06-01T11:40', 'free'],
  [6, '2026-06-01T10:30', 'occupied'],
  // Heartbeats (same state: no session change) keep the detectors fresh (600 s x 3 = 30 min).
  [1, '2026-06-01T11:50', 'free'],
  [2, '2026-06-01T11:50', 'free'],
  [3, '2026-06-01T11:50', 'free'],
  [5, '2026-06-01T11:55', 'occupied'],
];
const NOW = at('2026-06-01T12:00:00');

function feed(p: ParkingProcessor, reports = REPORTS) {
  for (const [i, local, status] of reports)
    p.apply(record(byId.get(`PK-${i}`) as NodeOf<'parking'>, { ts: at(`${local}:00`), status, heartbeat: false }));
}

describe('parking sessions, turnover and dwell', () => {
  it('matches the hand-computed reference day (out-of-order, repeated and late reports, a night across midnight)', () => {
    const p = new ParkingProcessor();
    feed(p);
    const { kpis } = evaluateWhole(p, new ParkingMerger(), ctx(spaces, NOW)) as { kpis: Record<string, any> };
    // LOT-1 (4 spaces): PK-1 570 + 45, PK-2 30, PK-3 40 + 30 -> 5 sessions, 715 min:
    // turnover 5 / 4 = 1.25, mean dwell 715 / 5 = 143 min. Known: 3 free, PK-4 unknown.
    const lot1 = kpis.list.find((l: { lotId: string }) => l.lotId === 'LOT-1');
    expect(lot1).toMatchObject({
      spaces: 4,
      occupied: 0,
      free: 3,
      unknown: 1,
      occupancy: 0,
      sessions: 5,
      turnover: 1.25,
      meanDwellMin: 143,
    });
    // LOT-2 (2 spaces): PK-6 30 min -> 1 session, turnover 0.5, dwell 30; PK-5 occupied, PK-6 free.
    const lot2 = kpis.list.find((l: { lotId: string }) => l.lotId === 'LOT-2');
    expect(lot2).toMatchObject({
      spaces: 2,
      occupied: 1,
      free: 1,
      unknown: 0,
      occupancy: 0.5,
      sessions: 1,
      turnover: 0.5,
      meanDwellMin: 30,
    });
    // City: 6 sessions over 6 spaces, (715 + 30) / 6 min.
    expect(kpis).toMatchObject({ spaces: 6, sessions: 6, turnover: 1 });
    expect(kpis.meanDwellMin).toBeCloseTo(745 / 6, 10);
    expect(kpis.byDistrict.Lixia).toMatchObject({ sessions: 5, turnover: 1.25, meanDwellMin: 143 });
    expect(kpis.byDistrict.Shizhong).toMatchObject({ sessions: 1, turnover: 0.5, meanDwellMin: 30 });
  });

  it('is idempotent: replaying every report (in any order) changes nothing', () => {
    const p = new ParkingProcessor();
    feed(p);
    const before = evaluateWhole(p, new ParkingMerger(), ctx(spaces, NOW)).kpis;
    feed(p, [...REPORTS].reverse());
    feed(p);
    expect(evaluateWhole(p, new ParkingMerger(), ctx(spaces, NOW)).kpis).toEqual(before);
  });

  it('starts a new count at local midnight, with a session across midnight counted on the day it ends', () => {
    const p = new ParkingProcessor();
    feed(p);
    // PK-5 parked since 11:30 leaves at 00:05 (Asia/Shanghai): 12 h 35 = 755 min, on 2 June.
    feed(p, [[5, '2026-06-02T00:05', 'free']]);
    const { kpis } = evaluateWhole(p, new ParkingMerger(), ctx(spaces, at('2026-06-02T00:10:00'))) as { kpis: Record<string, any> };
    expect(kpis).toMatchObject({ sessions: 1, meanDwellMin: 755 });
    expect(kpis.turnover).toBeCloseTo(1 / 6, 10);
    expect(kpis.list.find((l: { lotId: string }) => l.lotId === 'LOT-1')).toMatchObject({ sessions: 0, turnover: 0, meanDwellMin: null });
  });

  it('round-trips through exportNode / importNode (JSON) to an identical partial', () => {
    const p = new ParkingProcessor();
    feed(p);
    const copy = new ParkingProcessor();
    for (const s of spaces) {
      const state = p.exportNode(s.nodeId);
      if (state !== undefined) copy.importNode(s.nodeId, JSON.parse(JSON.stringify(state)));
    }
    const c = ctx(spaces, NOW);
    const all = spaces as NodeOf<'parking'>[];
    expect(copy.partial(all, c)).toEqual(p.partial(all, c));
    // And it carries on identically: the same next report gives the same result.
    for (const q of [p, copy])
      feed(q, [
        [1, '2026-06-01T12:05', 'occupied'],
        [1, '2026-06-01T13:20', 'free'],
      ]);
    const later = ctx(spaces, at('2026-06-01T13:30:00'));
    expect(copy.partial(all, later)).toEqual(p.partial(all, later));
  });

  it('keeps its lot counts incrementally equal to judging every space afresh, across stale detectors and midnight', () => {
    const lots = Array.from({ length: 40 }, (_, i) => space(100 + i, `LOT-${i % 7}`, 6));
    const p = new ParkingProcessor({ reorderWindowMs: 3_600_000 });
    const rand = seededRandom(3);
    let now = at('2026-06-01T21:00:00');
    for (let step = 0; step < 80; step++) {
      for (let k = 0; k < 6; k++) {
        const node = lots[Math.floor(rand() * lots.length)]!;
        const reading = { ts: now - Math.floor(rand() * 1_800_000), status: rand() < 0.5 ? 'occupied' : 'free' } as ReadingOf<'parking'>;
        p.apply(record(node as NodeOf<'parking'>, reading));
      }
      if (step === 40) p.importNode(lots[0]!.nodeId, JSON.parse(JSON.stringify(p.exportNode(lots[1]!.nodeId) ?? {})));
      now += Math.floor(rand() * 900_000); // past midnight and past detectors' freshness
      const c = ctx(lots, now);
      const all = lots as NodeOf<'parking'>[];
      expect(p.partial(all, c)).toEqual(p.partial([...all], c));
    }
  });

  it('merges per-partition partials into the same KPIs as one partition', () => {
    const p = new ParkingProcessor();
    feed(p);
    const c = ctx(spaces, NOW);
    const all = spaces as NodeOf<'parking'>[];
    const parts = [all.filter((_, i) => i % 2 === 0), all.filter((_, i) => i % 2 === 1)].map((part) => p.partial(part, c).section);
    expect(new ParkingMerger().merge(parts, c).kpis).toEqual(new ParkingMerger().merge([p.partial(all, c).section], c).kpis);
  });
});

describe('space session history', () => {
  it('folds reports older than the reorder window and keeps few of them', () => {
    const s = emptySessions();
    const t0 = at('2026-06-01T08:00:00');
    // A car every hour, 08:00-08:20, 09:00-09:20, ...; heartbeats every 10 min in between.
    for (let m = 0; m < 8 * 60; m += 10) addReport(s, t0 + m * 60_000, m % 60 < 20, 3_600_000);
    expect(s.recent.length).toBeLessThanOrEqual(7); // one hour of 10-min reports
    // Runs end at 08:20, 09:20, ..., 15:20; the first began with the very first report (arrival not
    // seen), so 7 sessions of 20 min count (the last, ending 15:20, is still in the window).
    expect(sessionsOfDay(s, at('2026-06-01T15:55:00'))).toEqual({ sessions: 7, parkedMs: 7 * 20 * 60_000 });
    expect(sessionsOfDay(s, at('2026-06-02T09:00:00'))).toEqual({ sessions: 0, parkedMs: 0 });
  });
});
