import { describe, expect, it } from 'vitest';
import { generateCity, TOPICS } from '../../../core/index.js';
import { toPoints } from './points.js';

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
    const { points, skipped } = toPoints(TOPICS.metrics('streetlight'), [rec(snapshot)]);
    expect(skipped).toBe(0);
    expect(points).toEqual([
      { measurement: 'lighting', tags: { scope: 'city', name: 'city' }, fields: { lit: 0, expected: 0, unknown: 10, lamps: 10, darkCircuits: 0, onInDaytime: 0, scheduledOn: true }, time: `${TS}000000` },
      { measurement: 'lighting', tags: { scope: 'district', name: 'Lixia' }, fields: { rate: 1, lit: 3, expected: 3 }, time: `${TS}000000` },
      { measurement: 'lighting', tags: { scope: 'roadClass', name: 'main' }, fields: { rate: 0.95, lit: 19, expected: 20, target: 0.98, compliant: false }, time: `${TS}000000` },
    ]);
  });

  it('skips and counts unreadable records and rows, and ignores high-rate kinds and status records on telemetry.raw', () => {
    const city = generateCity({ lamps: 5, parkingSpaces: 5, noiseStations: 1, wells: 1, seed: 3 });
    const well = city.ofKind('groundwater')[0]!;
    const lamp = city.ofKind('streetlight')[0]!;
    const raw = [
      rec('not json'),
      rec({ type: 'reading', nodeId: lamp.nodeId, kind: 'streetlight', district: lamp.district, receivedAt: TS, reading: { ts: TS, powerState: 'on' } }),
      rec({ type: 'status', nodeId: lamp.nodeId, kind: 'streetlight', district: lamp.district, status: 'online', receivedAt: TS }),
      rec({ type: 'reading', nodeId: well.nodeId, kind: 'groundwater', district: well.district, receivedAt: TS, reading: { ts: TS, waterTableM: 28.5 } }),
      rec({ type: 'reading', nodeId: well.nodeId, kind: 'groundwater', district: well.district, receivedAt: TS, reading: { ts: 'yesterday', waterTableM: 28.5 } }),
    ];
    const { points, skipped } = toPoints(TOPICS.raw, raw, city);
    expect(skipped).toBe(2);
    expect(points).toEqual([{ measurement: 'groundwater_reading', tags: { node: well.nodeId, well: well.well }, fields: { waterTableM: 28.5 }, time: `${TS}000000` }]);

    const gw = toPoints(TOPICS.metrics('groundwater'), [rec({ ts: TS, kpis: { list: [{ nodeId: 'x' }, { nodeId: 'gw-1', well: 'W1', springGroup: 'G', district: 'D', level: null, band: null }] } })]);
    expect(gw).toEqual({ points: [], skipped: 1 });
  });

  it('gives alerts with equal tags and time distinct, stable timestamps inside the millisecond', () => {
    const alert = (id: string) => ({ id, alertname: 'StreetlightOut', severity: 'minor', labels: { kind: 'streetlight', district: 'Lixia', node: id }, summary: 's', state: 'firing', startsAt: TS, firedAt: TS, updatedAt: TS });
    const a = toPoints(TOPICS.alerts, [rec(alert('a1')), rec(alert('a2'))]).points;
    const again = toPoints(TOPICS.alerts, [rec(alert('a1'))]).points;
    expect(a[0]!.time).not.toBe(a[1]!.time);
    expect(again[0]!.time).toBe(a[0]!.time);
    for (const p of a) expect(BigInt(p.time) / 1_000_000n).toBe(BigInt(TS));
    expect(a[0]!.tags).toEqual({ alertname: 'StreetlightOut', severity: 'minor', district: 'Lixia', kind: 'streetlight', state: 'firing' });
    expect(a[0]!.fields).toMatchObject({ id: 'a1', subject: 'a1', summary: 's' });
  });
});
