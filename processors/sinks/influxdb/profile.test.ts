import { describe, expect, it } from 'vitest';
import { NodeRegistry, TOPICS, type KindProfile, type ProfileKpis } from '../../../core/index.js';
import { sinkSchema, sinkTopics, toPoints } from './points.js';
import { profileMeasurements } from './profile.js';
import { defaultKinds, kindCatalog } from '../../../core/kinds/modules.js';

const rec = (value: unknown) => ({ value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)) });
const TS = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const t = (ms: number) => `${ms}000000`;
const kinds = defaultKinds();
const profile = (kind: string) => kinds.get(kind)!.profile!;

const waterlogging: ProfileKpis = {
  title: 'Road waterlogging',
  nodes: 3,
  reporting: 2,
  aggregates: { meanDepthM: 0.21, maxDepthM: 0.4, pointsOver15cm: 1, pointsOverClosure: 1, secondsOver15cm: 600 },
  byDistrict: {
    Lixia: {
      nodes: 2,
      reporting: 2,
      aggregates: { meanDepthM: 0.21, maxDepthM: 0.4, pointsOver15cm: 1, pointsOverClosure: 1, secondsOver15cm: 600 },
    },
    // No node of the district has reported: mean/max are null and left out, counts stay.
    Shizhong: {
      nodes: 1,
      reporting: 0,
      aggregates: { meanDepthM: null, maxDepthM: null, pointsOver15cm: 0, pointsOverClosure: 0, secondsOver15cm: 0 },
    },
  },
  list: [
    {
      nodeId: 'WL-1',
      district: 'Lixia',
      ts: TS - 5_000,
      values: { depthM: 0.4, rainMmPerH: 60 },
      timeOver: { secondsOver15cm: 600 },
      rules: ['RoadWaterlogging/major', 'RoadWaterlogging/critical'],
    },
  ],
};

const manhole: ProfileKpis = {
  title: 'Manhole covers',
  nodes: 2,
  reporting: 2,
  aggregates: { coversOpen: 1, maxTiltDeg: 32, minWaterBelowM: 1.2, secondsOpen: 90 },
  byDistrict: { Huaiyin: { nodes: 2, reporting: 2, aggregates: { coversOpen: 1, maxTiltDeg: 32, minWaterBelowM: 1.2, secondsOpen: 90 } } },
  list: [
    {
      nodeId: 'MH-7',
      district: 'Huaiyin',
      ts: TS - 1_000,
      values: { open: true, tiltDeg: 32, waterBelowM: 1.2 },
      timeOver: { secondsOpen: 90 },
      rules: ['ManholeCoverOpen/critical'],
    },
  ],
};

const reading = (kind: string, nodeId: string, district: string, fields: Record<string, unknown>, ts = TS) =>
  rec({ type: 'reading', nodeId, kind, district, receivedAt: ts + 10, reading: { ts, seq: 4, battery: 0.9, ...fields } });

describe('profile kinds: InfluxDB points', () => {
  it('derives three measurements per profile kind with fixed field types (numbers float, booleans boolean, enums string)', () => {
    expect(profileMeasurements(profile('manhole'))).toEqual({
      manhole: {
        tags: { scope: ['city', 'district'], name: null },
        fields: {
          nodes: 'number',
          reporting: 'number',
          coversOpen: 'number',
          maxTiltDeg: 'number',
          minWaterBelowM: 'number',
          secondsOpen: 'number',
        },
      },
      manhole_node: {
        tags: { node: null, district: null },
        fields: { rules: 'string', ruleCount: 'number', secondsOpen: 'number', open: 'boolean', tiltDeg: 'number', waterBelowM: 'number' },
      },
      manhole_reading: { tags: { node: null, district: null }, fields: { open: 'boolean', tiltDeg: 'number', waterBelowM: 'number' } },
    });
    // An enum field is a string; a profile field named like a timeOver aggregate is left out of <kind>_node.
    const custom: KindProfile = {
      ...profile('manhole'),
      kind: 'valve',
      fields: { state: { type: 'enum', values: ['open', 'shut'], required: true }, secondsOpen: { type: 'number', required: false } },
      aggregates: [{ name: 'secondsOpen', op: 'timeOver', when: { field: 'state', op: 'eq', value: 'open' } }],
    };
    const m = profileMeasurements(custom);
    expect(m.valve_reading!.fields).toEqual({ state: 'string', secondsOpen: 'number' });
    expect(m.valve_node!.fields).toEqual({ rules: 'string', ruleCount: 'number', secondsOpen: 'number', state: 'string' });
  });

  it('writes a waterlogging KPI record: city and district points (null aggregates left out) and one point per listed node, at the snapshot time', () => {
    const { points, skipped } = toPoints(TOPICS.metrics('waterlogging'), [rec({ ts: TS, kpis: waterlogging })], defaultKinds());
    expect(skipped).toBe(0);
    expect(points).toEqual([
      {
        measurement: 'waterlogging',
        tags: { scope: 'city', name: 'city' },
        time: t(TS),
        fields: { nodes: 3, reporting: 2, meanDepthM: 0.21, maxDepthM: 0.4, pointsOver15cm: 1, pointsOverClosure: 1, secondsOver15cm: 600 },
      },
      {
        measurement: 'waterlogging',
        tags: { scope: 'district', name: 'Lixia' },
        time: t(TS),
        fields: { nodes: 2, reporting: 2, meanDepthM: 0.21, maxDepthM: 0.4, pointsOver15cm: 1, pointsOverClosure: 1, secondsOver15cm: 600 },
      },
      {
        measurement: 'waterlogging',
        tags: { scope: 'district', name: 'Shizhong' },
        time: t(TS),
        fields: { nodes: 1, reporting: 0, pointsOver15cm: 0, pointsOverClosure: 0, secondsOver15cm: 0 },
      },
      {
        measurement: 'waterlogging_node',
        tags: { node: 'WL-1', district: 'Lixia' },
        time: t(TS),
        fields: {
          rules: 'RoadWaterlogging/critical,RoadWaterlogging/major',
          ruleCount: 2,
          secondsOver15cm: 600,
          depthM: 0.4,
          rainMmPerH: 60,
        },
      },
    ]);
    // A replay gives the very same points (same measurement, tags and time: InfluxDB overwrites).
    expect(toPoints(TOPICS.metrics('waterlogging'), [rec({ ts: TS, kpis: waterlogging })], defaultKinds()).points).toEqual(points);
  });

  it('writes a manhole KPI record: boolean values of listed nodes stay boolean', () => {
    const { points } = toPoints(TOPICS.metrics('manhole'), [rec({ ts: TS, kpis: manhole })], defaultKinds());
    expect(points.map((p) => p.measurement)).toEqual(['manhole', 'manhole', 'manhole_node']);
    expect(points[2]).toEqual({
      measurement: 'manhole_node',
      tags: { node: 'MH-7', district: 'Huaiyin' },
      time: t(TS),
      fields: { rules: 'ManholeCoverOpen/critical', ruleCount: 1, secondsOpen: 90, open: true, tiltDeg: 32, waterBelowM: 1.2 },
    });
  });

  it('writes profile readings from telemetry.raw with the profile fields only, at the reading time; unreadable records and rows are counted', () => {
    const raw = [
      reading('waterlogging', 'WL-1', 'Lixia', { depthM: 0.4, rainMmPerH: 60 }),
      reading('manhole', 'MH-7', 'Huaiyin', { open: false, tiltDeg: 2, waterBelowM: 2.5 }, TS + 1_000),
      // A field of the wrong type is left out, never written with another type.
      reading('manhole', 'MH-8', 'Huaiyin', { open: 'yes', tiltDeg: 3 }),
      rec({
        type: 'reading',
        nodeId: 'WL-2',
        kind: 'waterlogging',
        district: 'Lixia',
        receivedAt: TS,
        reading: { ts: 'now', depthM: 0.1 },
      }),
      rec({ type: 'status', nodeId: 'MH-7', kind: 'manhole', district: 'Huaiyin', status: 'online', receivedAt: TS }),
    ];
    const { points, skipped } = toPoints(TOPICS.raw, raw, defaultKinds());
    expect(skipped).toBe(1);
    expect(points).toEqual([
      {
        measurement: 'waterlogging_reading',
        tags: { node: 'WL-1', district: 'Lixia' },
        time: t(TS),
        fields: { depthM: 0.4, rainMmPerH: 60 },
      },
      {
        measurement: 'manhole_reading',
        tags: { node: 'MH-7', district: 'Huaiyin' },
        time: t(TS + 1_000),
        fields: { open: false, tiltDeg: 2, waterBelowM: 2.5 },
      },
      { measurement: 'manhole_reading', tags: { node: 'MH-8', district: 'Huaiyin' }, time: t(TS), fields: { tiltDeg: 3 } },
    ]);
    const odd = toPoints(
      TOPICS.metrics('manhole'),
      [
        rec({ ts: TS, kpis: { ...manhole, byDistrict: { Huaiyin: { nodes: 'two' } }, list: [{ district: 'Huaiyin' }] } }),
        rec({ kpis: manhole }),
      ],
      defaultKinds(),
    );
    expect(odd.skipped).toBe(3);
    expect(odd.points.map((p) => p.tags)).toEqual([{ scope: 'city', name: 'city' }]);
  });

  it("follows the registry's kind catalog: its profile kinds' topics are read, other kinds' are not", () => {
    const builtinOnly = new NodeRegistry([], [], kindCatalog());
    expect(toPoints(TOPICS.metrics('manhole'), [rec({ ts: TS, kpis: manhole })], builtinOnly).points).toEqual([]);
    expect(toPoints(TOPICS.raw, [reading('manhole', 'MH-7', 'Huaiyin', { open: true })], builtinOnly)).toEqual({ points: [], skipped: 0 });
    expect(sinkTopics(kinds)).toEqual(
      expect.arrayContaining([
        'metrics.streetlight',
        'metrics.waterlogging',
        'metrics.manhole',
        'metrics.nodes',
        'alerts',
        'telemetry.raw',
      ]),
    );
    expect(sinkTopics(kindCatalog())).not.toContain('metrics.manhole');
    expect([...sinkSchema(kinds).keys()]).toEqual(
      expect.arrayContaining([
        'lighting',
        'alerts',
        'waterlogging',
        'waterlogging_node',
        'waterlogging_reading',
        'manhole',
        'manhole_node',
        'manhole_reading',
      ]),
    );
    // A profile kind whose measurement is a built-in one's cannot be written beside it.
    expect(() => sinkSchema(kindCatalog([{ ...profile('manhole'), kind: 'alerts' }]))).toThrow(/measurement alerts is already written/);
  });
});
