import { describe, expect, it } from 'vitest';
import { generateCity, NodeRegistry, TOPICS, type RegistryNode } from '../../../core/index.js';
import { lamp } from '../../../test/fixtures.js';
import { toPoints } from './points.js';
import { defaultKinds } from '../../../core/kinds/modules.js';

const rec = (value: unknown) => ({ value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)) });
const TS = 1_767_225_600_000; // 2026-01-01T00:00:00Z

describe('toPoints', () => {
  it('turns a lighting snapshot into city, district and road-class points at the snapshot time, leaving null fields out', () => {
    const snapshot = {
      ts: TS,
      kpis: {
        lamps: 10,
        scheduledOn: true,
        rate: null,
        lit: 0,
        expected: 0,
        unknown: 10,
        byRoadClass: { main: { rate: 0.95, lit: 19, expected: 20, target: 0.98, compliant: false } },
        byDistrict: { Lixia: { rate: 1, lit: 3, expected: 3 } },
        darkCircuits: 0,
        onInDaytime: 0,
      },
    };
    const { points, skipped } = toPoints(TOPICS.metrics('streetlight'), [rec(snapshot)], defaultKinds());
    expect(skipped).toBe(0);
    expect(points).toEqual([
      {
        measurement: 'lighting',
        tags: { scope: 'city', name: 'city' },
        fields: { lit: 0, expected: 0, unknown: 10, lamps: 10, darkCircuits: 0, onInDaytime: 0, scheduledOn: true },
        time: `${TS}000000`,
      },
      {
        measurement: 'lighting',
        tags: { scope: 'district', name: 'Lixia' },
        fields: { rate: 1, lit: 3, expected: 3 },
        time: `${TS}000000`,
      },
      {
        measurement: 'lighting',
        tags: { scope: 'roadClass', name: 'main' },
        fields: { rate: 0.95, lit: 19, expected: 20, target: 0.98, compliant: false },
        time: `${TS}000000`,
      },
    ]);
  });

  it('skips and counts unreadable records and rows, and ignores high-rate kinds and status records on telemetry.raw', () => {
    const city = generateCity(defaultKinds(), { lamps: 5, parkingSpaces: 5, noiseStations: 1, wells: 1, seed: 3 });
    const well = city.ofKind('groundwater')[0]!;
    const lamp = city.ofKind('streetlight')[0]!;
    const raw = [
      rec('not json'),
      rec({
        type: 'reading',
        nodeId: lamp.nodeId,
        kind: 'streetlight',
        district: lamp.district,
        receivedAt: TS,
        reading: { ts: TS, powerState: 'on' },
      }),
      rec({ type: 'status', nodeId: lamp.nodeId, kind: 'streetlight', district: lamp.district, status: 'online', receivedAt: TS }),
      rec({
        type: 'reading',
        nodeId: well.nodeId,
        kind: 'groundwater',
        district: well.district,
        receivedAt: TS,
        reading: { ts: TS, waterTableM: 28.5 },
      }),
      rec({
        type: 'reading',
        nodeId: well.nodeId,
        kind: 'groundwater',
        district: well.district,
        receivedAt: TS,
        reading: { ts: 'yesterday', waterTableM: 28.5 },
      }),
    ];
    const { points, skipped } = toPoints(TOPICS.raw, raw, city);
    expect(skipped).toBe(2);
    expect(points).toEqual([
      {
        measurement: 'groundwater_reading',
        tags: { node: well.nodeId, well: well.well },
        fields: { waterTableM: 28.5 },
        time: `${TS}000000`,
      },
    ]);

    const gw = toPoints(
      TOPICS.metrics('groundwater'),
      [
        rec({
          ts: TS,
          kpis: { list: [{ nodeId: 'x' }, { nodeId: 'gw-1', well: 'W1', springGroup: 'G', district: 'D', level: null, band: null }] },
        }),
      ],
      defaultKinds(),
    );
    expect(gw).toEqual({ points: [], skipped: 1 });
  });

  it('gives alerts with equal tags and time distinct, stable timestamps inside the millisecond', () => {
    const alert = (id: string) => ({
      id,
      alertname: 'StreetlightOut',
      severity: 'minor',
      labels: { kind: 'streetlight', district: 'Lixia', node: id },
      summary: 's',
      state: 'firing',
      startsAt: TS,
      firedAt: TS,
      updatedAt: TS,
    });
    const a = toPoints(TOPICS.alerts, [rec(alert('a1')), rec(alert('a2'))], defaultKinds()).points;
    const again = toPoints(TOPICS.alerts, [rec(alert('a1'))], defaultKinds()).points;
    expect(a[0]!.time).not.toBe(a[1]!.time);
    expect(again[0]!.time).toBe(a[0]!.time);
    for (const p of a) expect(BigInt(p.time) / 1_000_000n).toBe(BigInt(TS));
    expect(a[0]!.tags).toEqual({ alertname: 'StreetlightOut', severity: 'minor', district: 'Lixia', kind: 'streetlight', state: 'firing' });
    expect(a[0]!.fields).toMatchObject({ id: 'a1', subject: 'a1', summary: 's' });
  });

  it('writes installation, intact, half-night and road compliance onto the city, district and road-class points', () => {
    const snapshot = {
      ts: TS,
      kpis: {
        lamps: 4,
        scheduledOn: true,
        rate: 0.75,
        lit: 3,
        expected: 4,
        unknown: 0,
        darkCircuits: 0,
        onInDaytime: 0,
        halfNight: true,
        installation: { designed: 10, installed: 8, rate: 0.8 },
        installationByDistrict: { Lixia: { designed: 6, installed: 6, rate: 1 }, Shizhong: { designed: 4, installed: 2, rate: 0.5 } },
        installationByRoadClass: { main: { designed: 10, installed: 8, rate: 0.8 } },
        intact: { facilities: 8, intact: 7, rate: 0.875 },
        intactByDistrict: { Lixia: { facilities: 6, intact: 5, rate: 5 / 6 } },
        roads: { total: 3, compliant: 2, nonCompliant: [{ road: 'Jingshi Road' }] },
        byDistrict: { Lixia: { rate: 0.75, lit: 3, expected: 4 } },
        byRoadClass: { main: { rate: 0.75, lit: 3, expected: 4, target: 0.99, compliant: false } },
      },
    };
    const { points, skipped } = toPoints(TOPICS.metrics('streetlight'), [rec(snapshot)], defaultKinds());
    expect(skipped).toBe(0);
    const t = `${TS}000000`;
    expect(points).toEqual([
      {
        measurement: 'lighting',
        tags: { scope: 'city', name: 'city' },
        time: t,
        fields: {
          rate: 0.75,
          lit: 3,
          expected: 4,
          unknown: 0,
          lamps: 4,
          darkCircuits: 0,
          onInDaytime: 0,
          scheduledOn: true,
          halfNight: true,
          designed: 10,
          installed: 8,
          installationRate: 0.8,
          facilities: 8,
          intact: 7,
          intactRate: 0.875,
          roads: 3,
          roadsCompliant: 2,
          roadsNonCompliant: 1,
        },
      },
      {
        measurement: 'lighting',
        tags: { scope: 'district', name: 'Lixia' },
        time: t,
        fields: {
          rate: 0.75,
          lit: 3,
          expected: 4,
          designed: 6,
          installed: 6,
          installationRate: 1,
          facilities: 6,
          intact: 5,
          intactRate: 5 / 6,
        },
      },
      // A district known only from the installation KPIs still gets its point.
      {
        measurement: 'lighting',
        tags: { scope: 'district', name: 'Shizhong' },
        time: t,
        fields: { designed: 4, installed: 2, installationRate: 0.5 },
      },
      {
        measurement: 'lighting',
        tags: { scope: 'roadClass', name: 'main' },
        time: t,
        fields: { rate: 0.75, lit: 3, expected: 4, target: 0.99, compliant: false, designed: 10, installed: 8, installationRate: 0.8 },
      },
    ]);
    // Tolerant: an odd installation shape is skipped (and counted), the rest is written; half-night as an object.
    const odd = toPoints(
      TOPICS.metrics('streetlight'),
      [rec({ ts: TS, kpis: { ...snapshot.kpis, installation: { designed: 'ten' }, halfNight: { active: false, from: '22:30' } } })],
      defaultKinds(),
    );
    expect(odd.skipped).toBe(1);
    expect(odd.points[0]!.fields).toMatchObject({ halfNight: false, intactRate: 0.875 });
    expect(odd.points[0]!.fields).not.toHaveProperty('installationRate');
  });

  it('writes parking sessions, turnover and dwell at every level, and lots with their district and the centre of their detectors', () => {
    const space = (i: number, lat: number, lon: number): RegistryNode => ({
      nodeId: `PK-${i}`,
      kind: 'parking',
      district: 'Lixia',
      lat,
      lon,
      lotId: 'L1',
      lotName: 'Quancheng Square',
      spaces: 2,
    });
    const registry = new NodeRegistry([space(1, 36.6, 117.0), space(2, 36.8, 117.2)], [], defaultKinds());
    const flow = { sessions: 6, turnover: 3, meanDwellMin: 42.5 };
    const counts = { spaces: 2, occupied: 1, free: 1, unknown: 0, occupancy: 0.5 };
    const snapshot = {
      ts: TS,
      kpis: {
        ...counts,
        ...flow,
        lots: 1,
        full: 0,
        nearlyFull: 0,
        byDistrict: { Lixia: { ...counts, ...flow } },
        list: [{ lotId: 'L1', lotName: 'Quancheng Square', district: 'Lixia', state: 'free', ...counts, ...flow }],
      },
    };
    const { points } = toPoints(TOPICS.metrics('parking'), [rec(snapshot)], registry);
    expect(points.map((p) => p.fields)).toEqual([
      { ...counts, ...flow, lots: 1, full: 0, nearlyFull: 0 },
      { ...counts, ...flow },
      { ...counts, ...flow, state: 'free', lotName: 'Quancheng Square', lat: 36.7, lon: 117.1 },
    ]);
    expect(points[2]!.fields.lat).toBeCloseTo(36.7, 12);
    expect(points[2]!.tags).toEqual({ scope: 'lot', name: 'L1', district: 'Lixia' });
  });

  it("writes Ld / Ln per station and local day at the day's midnight (Asia/Shanghai) with the zone limits, and tags minute readings with their period", () => {
    const day = (date: string, ld: number | null) => ({
      date,
      ld,
      ldValidRate: ld === null ? 0.5 : 0.9,
      ldComplete: ld !== null,
      ldExceeds: ld === null ? null : ld > 55,
      ln: 44,
      lnValidRate: 1,
      lnComplete: true,
      lnExceeds: false,
    });
    const row = {
      nodeId: 'NS-1',
      station: 'Quancheng Residential',
      district: 'Lixia',
      zoneClass: '1',
      lastHour: { hourStart: TS, period: 'night', leq: 44, limit: 45, coverage: 1, complete: true, exceeds: false },
      yesterday: day('2025-12-31', 56.2),
      today: day('2026-01-01', null),
    };
    const { points, skipped } = toPoints(TOPICS.metrics('noise'), [rec({ ts: TS, kpis: { list: [row] } })], defaultKinds());
    expect(skipped).toBe(0);
    const tags = { station: 'Quancheng Residential', district: 'Lixia', zoneClass: '1' };
    expect(points.slice(1)).toEqual([
      // 2025-12-31T00:00+08:00 = 2025-12-30T16:00Z
      {
        measurement: 'noise_day',
        tags,
        time: `${Date.UTC(2025, 11, 30, 16)}000000`,
        fields: {
          ld: 56.2,
          ldValidRate: 0.9,
          ldComplete: true,
          ldExceeds: true,
          ldLimit: 55,
          ln: 44,
          lnValidRate: 1,
          lnComplete: true,
          lnExceeds: false,
          lnLimit: 45,
        },
      },
      {
        measurement: 'noise_day',
        tags,
        time: `${Date.UTC(2025, 11, 31, 16)}000000`,
        fields: {
          ldValidRate: 0.5,
          ldComplete: false,
          ldLimit: 55,
          ln: 44,
          lnValidRate: 1,
          lnComplete: true,
          lnExceeds: false,
          lnLimit: 45,
        },
      },
    ]);
    const station = generateCity(defaultKinds(), { lamps: 1, parkingSpaces: 1, noiseStations: 1, wells: 1, seed: 3 }).ofKind('noise')[0]!;
    const reading = (ts: number) =>
      rec({
        type: 'reading',
        nodeId: station.nodeId,
        kind: 'noise',
        district: station.district,
        receivedAt: ts,
        reading: { ts, laeq: 50 },
      });
    // TS is 08:00 local (day); TS - 9 h is 23:00 local (night).
    const raw = toPoints(TOPICS.raw, [reading(TS), reading(TS - 9 * 3_600_000)], defaultKinds()).points;
    expect(raw.map((p) => p.tags.period)).toEqual(['day', 'night']);
  });

  it('puts alerts on the map: a node alert at the node, a circuit alert at the centre of its lamps', () => {
    const registry = new NodeRegistry([lamp(1, { lat: 36.6, lon: 117.0 }), lamp(2, { lat: 36.7, lon: 117.2 })], [], defaultKinds());
    const alert = (alertname: string, labels: Record<string, string>) => ({
      id: alertname,
      alertname,
      severity: 'major',
      labels: { kind: 'streetlight', district: 'Lixia', ...labels },
      summary: 's',
      state: 'firing',
      startsAt: TS,
      firedAt: TS,
      updatedAt: TS,
    });
    const [out, dark] = toPoints(
      TOPICS.alerts,
      [rec(alert('StreetlightOut', { node: 'SL-2', circuit: 'C1' })), rec(alert('CircuitDark', { circuit: 'C1' }))],
      registry,
    ).points;
    expect(out!.fields).toMatchObject({ lat: 36.7, lon: 117.2, subject: 'SL-2' });
    expect(dark!.fields.lat).toBeCloseTo(36.65, 12);
    expect(dark!.fields.lon).toBeCloseTo(117.1, 12);
  });
});
