import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DISTRICTS } from './districts.js';
import { generateCity } from './generate.js';
import { loadRegistryFile, parseRegistryText, registryToCsv, registryToFile, registryToJson } from './load.js';
import { defaultKinds } from '../kinds/modules.js';

const CSV = `nodeId,kind,district,lat,lon,road,roadClass,circuit,ratedW,well,springGroup,lineYellow,lineOrange,lineRed,station,zoneClass,lotId,lotName,spaces
SL-1,streetlight,Lixia,36.66,117.07,Jingshi Road,main,C1,200,,,,,,,,,,
GW-1,groundwater,Lixia,36.66,117.01,,,,,Baotu Spring,Baotu,28.15,28.00,27.60,,,,,
NS-1,noise,Shizhong,36.65,117.0,,,,,,,,,,Residential 1,1,,,
PK-1,parking,Huaiyin,36.65,116.9,,,,,,,,,,,,LOT-1,Station Car Park,120
`;

describe('registry loaders', () => {
  it('loads CSV with per-kind columns', () => {
    const r = parseRegistryText(CSV, 'csv', 'nodes.csv', defaultKinds());
    expect(r.size).toBe(4);
    expect(r.get('GW-1')).toMatchObject({ kind: 'groundwater', lines: { yellow: 28.15, orange: 28, red: 27.6 } });
    expect(r.get('NS-1')).toMatchObject({ zoneClass: '1' });
    expect(r.ofKind('parking')[0]).toMatchObject({ lotId: 'LOT-1', spaces: 120 });
  });

  it('reports each bad row with its line and field', () => {
    const bad = CSV.replace('main,C1,200', 'highway,C1,200').replace('28.15,28.00,27.60', '27.00,28.00,27.60');
    expect(() => parseRegistryText(bad, 'csv', 'nodes.csv', defaultKinds())).toThrow(
      /nodes\.csv:2: roadClass[\s\S]*nodes\.csv:3: lines: warning lines must satisfy yellow > orange > red/,
    );
  });

  it('refuses duplicate node ids and node ids that cannot be topic levels', () => {
    const dup = JSON.stringify([
      { nodeId: 'X', kind: 'parking', district: 'Lixia', lat: 1, lon: 1, lotId: 'L', lotName: 'L', spaces: 1 },
      { nodeId: 'X', kind: 'parking', district: 'Lixia', lat: 1, lon: 1, lotId: 'L', lotName: 'L', spaces: 1 },
    ]);
    expect(() => parseRegistryText(dup, 'json', 'r.json', defaultKinds())).toThrow(/duplicate nodeId X/);
    const slash = JSON.stringify([
      { nodeId: 'a/b', kind: 'parking', district: 'Lixia', lat: 1, lon: 1, lotId: 'L', lotName: 'L', spaces: 1 },
    ]);
    expect(() => parseRegistryText(slash, 'json', 'r.json', defaultKinds())).toThrow(/nodeId/);
  });

  it('round-trips the generated city through a JSON file', async () => {
    const city = generateCity(defaultKinds());
    const dir = await mkdtemp(join(tmpdir(), 'registry-'));
    await writeFile(join(dir, 'city.json'), registryToJson(city));
    const loaded = await loadRegistryFile(join(dir, 'city.json'), defaultKinds());
    expect(loaded.size).toBe(city.size);
    await expect(loadRegistryFile(join(dir, 'missing.json'), defaultKinds())).rejects.toThrow(/cannot read registry \(ENOENT\)/);
    await expect(loadRegistryFile(join(dir, 'city.txt'), defaultKinds())).rejects.toThrow(/must be a \.json or \.csv/);
  });

  it('round-trips the generated city through a CSV file: every node, attribute and road equal', async () => {
    const city = generateCity(defaultKinds());
    const dir = await mkdtemp(join(tmpdir(), 'registry-'));
    await writeFile(join(dir, 'city.csv'), registryToFile(city, join(dir, 'city.csv')));
    const loaded = await loadRegistryFile(join(dir, 'city.csv'), defaultKinds());
    expect([...loaded.all()]).toEqual([...city.all()]);
    expect(loaded.declaredRoads()).toEqual(city.declaredRoads());
    expect(city.declaredRoads().length).toBeGreaterThan(0);
    expect(() => registryToFile(city, 'city.yaml')).toThrow(/city\.yaml: a registry file must end in \.json or \.csv/);
  });

  it('quotes CSV cells with commas and quotes', () => {
    const odd = parseRegistryText(
      JSON.stringify([
        { nodeId: 'P-1', kind: 'parking', district: 'Lixia', lat: 1, lon: 2, lotId: 'L', lotName: 'Quan "Cheng", Lot 1', spaces: 3 },
      ]),
      'json',
      'odd.json',
      defaultKinds(),
    );
    expect([...parseRegistryText(registryToCsv(odd), 'csv', 'odd.csv', defaultKinds()).all()]).toEqual([...odd.all()]);
  });
});

describe('generated default city', () => {
  const city = generateCity(defaultKinds());
  it('covers the 12 districts, every road class, zone class, the published spring lines and lots', () => {
    expect(city.districts()).toEqual(DISTRICTS.map((d) => d.name).sort());
    expect(new Set(city.ofKind('streetlight').map((l) => l.roadClass))).toEqual(
      new Set(['expressway', 'main', 'secondary', 'branch', 'alley']),
    );
    expect(new Set(city.ofKind('noise').map((n) => n.zoneClass))).toEqual(new Set(['0', '1', '2', '3', '4a', '4b']));
    expect(city.ofKind('groundwater').find((w) => w.well === 'Baotu Spring')!.lines).toEqual({ yellow: 28.15, orange: 28.0, red: 27.6 });
    const circuits = new Map<string, number>();
    for (const l of city.ofKind('streetlight')) circuits.set(l.circuit, (circuits.get(l.circuit) ?? 0) + 1);
    expect(Math.max(...circuits.values())).toBeLessThanOrEqual(40);
    expect(city.ofKind('parking').length).toBe(1200);
    expect(city.size).toBeGreaterThan(3000);
  });
  it('is deterministic for a seed', () => {
    expect(registryToJson(generateCity(defaultKinds()))).toBe(registryToJson(city));
  });
});

describe('lighting design (roads)', () => {
  it('loads roads from CSV rows of kind road and from a JSON "roads" list', () => {
    const csv = `nodeId,kind,district,lat,lon,road,roadClass,circuit,ratedW,lotId,lotName,spaces,designedPositions
SL-1,streetlight,Lixia,36.66,117.07,Jingshi Road,main,C1,200,,,,
,road,Lixia,,,Jingshi Road,main,,,,,,12
PK-1,parking,Huaiyin,36.65,116.9,,,,,LOT-1,Station Car Park,120,
,road,Shizhong,,,Heping Lane,branch,,,,,,5
`;
    const r = parseRegistryText(csv, 'csv', 'nodes.csv', defaultKinds());
    expect(r.size).toBe(2);
    expect(r.roads()).toEqual([
      { road: 'Jingshi Road', roadClass: 'main', district: 'Lixia', designedPositions: 12, lamps: 1, installed: 1 },
      { road: 'Heping Lane', roadClass: 'branch', district: 'Shizhong', designedPositions: 5, lamps: 0, installed: 0 },
    ]);
    // Errors name the CSV line of the road row (header = line 1).
    expect(() => parseRegistryText(csv.replace('Heping Lane,branch', 'Heping Lane,path'), 'csv', 'nodes.csv', defaultKinds())).toThrow(
      /nodes\.csv:5: road: roadClass/,
    );
    expect(() =>
      parseRegistryText(csv.replace('PK-1,parking,Huaiyin,36.65', 'PK-1,parking,Huaiyin,x'), 'csv', 'nodes.csv', defaultKinds()),
    ).toThrow(/nodes\.csv:4: lat/);
    const json = JSON.stringify({ nodes: [...r.all()], roads: r.declaredRoads() });
    expect(parseRegistryText(json, 'json', 'r.json', defaultKinds()).roads()).toEqual(r.roads());
  });

  it('keeps files without roads working: each road is designed as installed', () => {
    const r = parseRegistryText(CSV, 'csv', 'nodes.csv', defaultKinds());
    expect(r.declaredRoads()).toEqual([]);
    expect(r.roads()).toEqual([
      { road: 'Jingshi Road', roadClass: 'main', district: 'Lixia', designedPositions: 1, lamps: 1, installed: 1 },
    ]);
  });

  it('generates a design with partly fitted roads and roads without lamps, without changing the nodes', () => {
    const city = generateCity(defaultKinds());
    expect(city.size).toBe(3931); // 3,672 nodes of the built-in kinds, 19 waterlogging points, 240 manhole covers
    expect(city.ofKind('streetlight').length).toBe(2400);
    const roads = city.roads();
    const unlit = roads.filter((r) => r.lamps === 0);
    expect(unlit.length).toBeGreaterThanOrEqual(2);
    expect(unlit.every((r) => r.designedPositions > 0 && r.installed === 0)).toBe(true);
    expect(roads.some((r) => r.lamps > 0 && r.installed < r.designedPositions)).toBe(true);
    expect(roads.reduce((n, r) => n + r.installed, 0)).toBe(2400);
    expect(registryToJson(generateCity(defaultKinds()))).toBe(registryToJson(city));
    // Written and loaded again, the design survives.
    expect(parseRegistryText(registryToJson(city), 'json', 'city.json', defaultKinds()).roads()).toEqual(roads);
  });
});
