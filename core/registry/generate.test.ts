import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DISTRICTS } from './districts.js';
import { citySizeFor, DEFAULT_CITY, generateCity } from './generate.js';
import { parseRegistryText, registryToCsv, registryToJson } from './load.js';
import { parseNode, type ProfileNode, type RegistryNode } from './node.js';
import { defaultKinds, kindCatalog } from '../kinds/modules.js';

const city = generateCity(defaultKinds());
const points = city.ofKind('waterlogging') as ProfileNode[];
const covers = city.ofKind('manhole') as ProfileNode[];
/** A node of a built-in kind (not a profile kind's). */
const isBuiltinNode = (n: RegistryNode) => !city.kinds.get(n.kind)!.profile;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('generated city: profile kinds', () => {
  it('leaves the built-in kinds byte-identical to the city before profile kinds (their KPIs are compared across runs)', () => {
    // Fingerprint of the default city's built-in nodes as generated before waterlogging points and covers were added.
    expect(sha256(JSON.stringify([...city.all()].filter(isBuiltinNode)))).toBe(
      '4dfe039de145749f5fb18e02dff69ad78e267e61ae7e18acd379596d3edec001',
    );
    expect([...city.all()].slice(0, 3672).every(isBuiltinNode)).toBe(true);
    // Without the new kinds the city is exactly the built-in part.
    expect(registryToJson(generateCity(defaultKinds(), { waterloggingPoints: 0, manholes: 0 }))).toBe(
      JSON.stringify({ nodes: [...city.all()].filter(isBuiltinNode), roads: city.declaredRoads() }),
    );
  });

  it("has the plan's 19 waterlogging points, at underpasses and low points, with their profile attributes", () => {
    expect(points.length).toBe(DEFAULT_CITY.waterloggingPoints);
    expect(points.length).toBe(19);
    for (const p of points) {
      expect(parseNode(p, city.kinds).success, p.nodeId).toBe(true);
      expect(p.nodeId).toMatch(/^WL-[A-Z]{2}-\d{4}$/);
      expect(p.point).toMatch(/ (Underpass|Low Point)( \d+)?$/);
      expect(p.point).toContain(p.road as string);
      expect(p.closureDepthM).toBe(0.3); // the profile's default
      expect(p.gatewayId).toBeUndefined();
    }
    expect(new Set(points.map((p) => p.point)).size).toBe(points.length);
    expect(new Set(points.map((p) => p.underpass))).toEqual(new Set([true, false]));
    expect(new Set(points.map((p) => p.district)).size).toBe(DISTRICTS.length);
    // Points sit on the roads of the city's lamps.
    const roads = new Set(city.ofKind('streetlight').map((l) => l.road));
    expect(points.every((p) => roads.has(p.road as string))).toBe(true);
  });

  it('has a few hundred manhole covers along the lamp roads, through per-district NB-IoT platform gateways', () => {
    expect(covers.length).toBe(240);
    const roads = new Set(city.ofKind('streetlight').map((l) => l.road));
    for (const c of covers) {
      expect(parseNode(c, city.kinds).success, c.nodeId).toBe(true);
      expect(c.nodeId).toMatch(/^MH-[A-Z]{2}-\d{6}$/);
      expect(roads.has(c.road as string)).toBe(true);
      expect(c.gatewayId).toBe(`GW-${c.nodeId.slice(3, 5)}-NB01`);
    }
    expect(new Set(covers.map((c) => c.network)).size).toBeGreaterThanOrEqual(5);
    expect(new Set(covers.map((c) => c.district)).size).toBe(DISTRICTS.length);
  });

  it('scales with the city: ~4 % covers and a point per 2,000 nodes at 500,000, built-in shares unchanged', () => {
    expect(citySizeFor(500_000)).toEqual({
      lamps: 320_000,
      parkingSpaces: 170_000,
      noiseStations: 1500,
      wells: 500,
      waterloggingPoints: 250,
      manholes: 20_000,
      seed: DEFAULT_CITY.seed,
    });
    const small = citySizeFor(100);
    expect(small.waterloggingPoints).toBe(DISTRICTS.length);
    expect(small.manholes).toBe(DISTRICTS.length);
    // 500 covers per platform gateway: a district of 1,200 covers has three.
    const big = generateCity(defaultKinds(), {
      lamps: 1200,
      parkingSpaces: 0,
      noiseStations: 0,
      wells: 0,
      waterloggingPoints: 0,
      manholes: 14_400,
    });
    expect(
      new Set(
        big
          .ofKind('manhole')
          .filter((c) => c.district === 'Lixia')
          .map((c) => c.gatewayId),
      ),
    ).toEqual(new Set(['GW-LX-NB01', 'GW-LX-NB02', 'GW-LX-NB03']));
  });

  it('works without lamps (roads of their own) and without the profiles in the catalog (built-in kinds only)', () => {
    const bare = generateCity(defaultKinds(), {
      lamps: 0,
      parkingSpaces: 0,
      noiseStations: 0,
      wells: 0,
      waterloggingPoints: 3,
      manholes: 5,
    });
    expect(bare.size).toBe(8);
    expect((bare.ofKind('manhole') as ProfileNode[]).every((c) => typeof c.road === 'string' && c.road.length > 0)).toBe(true);
    const builtinOnly = generateCity(kindCatalog());
    expect(builtinOnly.size).toBe(3672);
  });

  it('round-trips through CSV and JSON with the profile nodes and their attributes', () => {
    const csv = parseRegistryText(registryToCsv(city), 'csv', 'city.csv', defaultKinds());
    expect([...csv.all()]).toEqual([...city.all()]);
    expect((csv.ofKind('waterlogging') as ProfileNode[]).filter((p) => p.underpass === true).length).toBe(
      points.filter((p) => p.underpass === true).length,
    );
    const json = parseRegistryText(registryToJson(city), 'json', 'city.json', defaultKinds());
    expect([...json.all()]).toEqual([...city.all()]);
  });

  it('is deterministic for a seed, and another seed draws other points and covers', () => {
    expect(registryToJson(generateCity(defaultKinds()))).toBe(registryToJson(city));
    const other = generateCity(defaultKinds(), { seed: 7 });
    expect((other.ofKind('manhole') as ProfileNode[]).map((c) => c.road)).not.toEqual(covers.map((c) => c.road));
  });
});
