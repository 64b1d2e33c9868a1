import type { KindCatalog, RoadClass, WarningLines, ZoneClass } from '../kinds/index.js';
import { pick, seededRandom } from '../random.js';
import { DISTRICTS } from './districts.js';
import type { NodeOf, RegistryNode } from './node.js';
import { NodeRegistry } from './registry.js';
import type { RoadDesign } from './roads.js';

export interface CitySize {
  lamps: number;
  parkingSpaces: number;
  noiseStations: number;
  wells: number;
  /** Road waterlogging depth sensors, one per underpass or low point (profile kind `waterlogging`). */
  waterloggingPoints: number;
  /** Smart manhole covers (profile kind `manhole`). */
  manholes: number;
  seed: number;
}

/** The embedded default: a few thousand nodes, enough for every KPI and alert to mean something (the plan's 19 waterlogging points). */
export const DEFAULT_CITY: CitySize = {
  lamps: 2400,
  parkingSpaces: 1200,
  noiseStations: 48,
  wells: 24,
  waterloggingPoints: 19,
  manholes: 240,
  seed: 20261126,
};

const ROAD_MIX: [RoadClass, number, number][] = [
  // class, share of lamps, rated watts
  ['expressway', 0.1, 250],
  ['main', 0.3, 200],
  ['secondary', 0.25, 150],
  ['branch', 0.25, 100],
  ['alley', 0.1, 60],
];
const ROAD_SUFFIX: Record<RoadClass, string[]> = {
  expressway: ['Elevated Road', 'Expressway'],
  main: ['Road', 'Avenue'],
  secondary: ['Road', 'Street'],
  branch: ['Street', 'Lane'],
  alley: ['Alley', 'Hutong'],
};
const ROAD_STEMS = [
  'Jingshi',
  'Quancheng',
  'Lishan',
  'Heping',
  'Jiefang',
  'Wenhua',
  'Shanda',
  'Minghu',
  'Daming',
  'Qianfo',
  'Baotu',
  'Heihu',
  'Yingxiong',
  'Shunhua',
  'Aoti',
  'Gongye',
  'Beiyuan',
  'Lvyou',
  'Xinyu',
  'Huayuan',
  'Qingnian',
  'Jingqi',
  'Weishi',
  'Luoyuan',
  'Furong',
  'Kuanhou',
  'Quanfu',
  'Huancheng',
  'Zhiyuan',
  'Erhuan',
];

/** Published spring wells with their warning lines (Baotu's ladder is the city's emergency plan; the others are operating choices near their outflow elevations). */
const SPRING_WELLS: { well: string; springGroup: string; district: string; lat: number; lon: number; lines: WarningLines }[] = [
  {
    well: 'Baotu Spring',
    springGroup: 'Baotu',
    district: 'Lixia',
    lat: 36.6612,
    lon: 117.0124,
    lines: { yellow: 28.15, orange: 28.0, red: 27.6 },
  },
  {
    well: 'Black Tiger Spring',
    springGroup: 'Black Tiger',
    district: 'Lixia',
    lat: 36.6578,
    lon: 117.0262,
    lines: { yellow: 28.0, orange: 27.8, red: 27.5 },
  },
  {
    well: 'Pearl Spring',
    springGroup: 'Pearl',
    district: 'Lixia',
    lat: 36.6686,
    lon: 117.0199,
    lines: { yellow: 27.3, orange: 27.05, red: 26.77 },
  },
  {
    well: 'Five Dragon Pool',
    springGroup: 'Five Dragon',
    district: 'Lixia',
    lat: 36.6663,
    lon: 117.0131,
    lines: { yellow: 26.8, orange: 26.55, red: 26.3 },
  },
  {
    well: 'Yongqing Street',
    springGroup: 'Baotu',
    district: 'Shizhong',
    lat: 36.6585,
    lon: 117.0045,
    lines: { yellow: 28.15, orange: 28.0, red: 27.6 },
  },
];
const ZONES: ZoneClass[] = ['0', '1', '2', '3', '4a', '4b'];

function pad(n: number, width = 6): string {
  return String(n).padStart(width, '0');
}

/**
 * A deterministic city: lamps on named roads in 40-lamp circuits (with the lighting design: some
 * roads partly fitted, a few roads without lamps), spring wells, noise stations of every zone
 * class, parking lots; then the shipped profile kinds' nodes (waterlogging points, manhole covers)
 * when `kinds` has them.
 */
export function generateCity(kinds: KindCatalog, size: Partial<CitySize> = {}): NodeRegistry {
  const s = { ...DEFAULT_CITY, ...size };
  const rand = seededRandom(s.seed);
  const nodes: RegistryNode[] = [];
  const roads: RoadDesign[] = [];
  const jitter = (deg: number) => (rand() - 0.5) * 2 * deg;

  // Street lamps: per class, roads of 1-4 circuits of up to 40 lamps, spread over the districts.
  let lampNo = 0;
  let roadNo = 0;
  for (const [roadClass, share, ratedW] of ROAD_MIX) {
    let remaining = Math.round(s.lamps * share);
    if (roadClass === 'alley') remaining = s.lamps - lampNo; // absorb rounding
    while (remaining > 0) {
      const district = DISTRICTS[roadNo % DISTRICTS.length]!;
      const road = `${pick(rand, ROAD_STEMS)} ${pick(rand, ROAD_SUFFIX[roadClass])} ${district.code}${roadNo + 1}`;
      const circuits = 1 + Math.floor(rand() * 4);
      let lat = district.lat + jitter(0.04);
      let lon = district.lon + jitter(0.04);
      const heading = rand() * Math.PI * 2;
      roads.push({ road, roadClass, district: district.name, designedPositions: 0 });
      // One lighting cabinet per road with a gateway for all its circuits (about 5,000 gateways for 500,000 nodes).
      const roadGateway = `GW-${district.code}-R${pad(roadNo + 1, 4)}`;
      for (let c = 0; c < circuits && remaining > 0; c++) {
        const circuit = `${district.code}-R${pad(roadNo + 1, 4)}-C${c + 1}`;
        const count = Math.min(40, remaining);
        for (let i = 0; i < count; i++) {
          lampNo++;
          lat += Math.sin(heading) * 0.0003;
          lon += Math.cos(heading) * 0.0003;
          roads[roads.length - 1]!.designedPositions++;
          nodes.push({
            nodeId: `SL-${district.code}-${pad(lampNo)}`,
            kind: 'streetlight',
            district: district.name,
            lat: round(lat),
            lon: round(lon),
            gatewayId: roadGateway,
            road,
            roadClass,
            circuit,
            ratedW,
          });
        }
        remaining -= count;
      }
      roadNo++;
    }
  }

  // Groundwater: the published spring wells first, then observation wells in the spring groups and suburbs.
  for (let i = 0; i < s.wells; i++) {
    const known = SPRING_WELLS[i];
    const district = DISTRICTS[i % DISTRICTS.length]!;
    const base = known ?? {
      well: `Observation Well ${district.code}-${i + 1}`,
      springGroup: i % 2 === 0 ? 'Baotu' : `${district.name} Karst`,
      district: district.name,
      lat: district.lat + jitter(0.05),
      lon: district.lon + jitter(0.05),
      lines: offsetLines(27.6 + Math.round(rand() * 100) / 100),
    };
    nodes.push({
      nodeId: `GW-${DISTRICTS.find((d) => d.name === base.district)!.code}-${pad(i + 1, 4)}`,
      kind: 'groundwater',
      district: base.district,
      lat: round(base.lat),
      lon: round(base.lon),
      well: base.well,
      springGroup: base.springGroup,
      lines: base.lines,
    });
  }

  // Noise stations: every district gets stations cycling through the zone classes.
  for (let i = 0; i < s.noiseStations; i++) {
    const district = DISTRICTS[i % DISTRICTS.length]!;
    // Shift the zone cycle each round of districts so every district gets a mix of zone classes.
    const zoneClass = ZONES[(i + Math.floor(i / DISTRICTS.length)) % ZONES.length]!;
    nodes.push({
      nodeId: `NS-${district.code}-${pad(i + 1, 4)}`,
      kind: 'noise',
      district: district.name,
      lat: round(district.lat + jitter(0.05)),
      lon: round(district.lon + jitter(0.05)),
      station: `${district.name} ${zoneLabel(zoneClass)} ${Math.floor(i / (DISTRICTS.length * ZONES.length)) + 1}`,
      zoneClass,
    });
  }

  // Parking: lots of 20-200 spaces, one geomagnetic detector per space.
  let spaceNo = 0;
  let lotNo = 0;
  while (spaceNo < s.parkingSpaces) {
    const district = DISTRICTS[lotNo % DISTRICTS.length]!;
    const spaces = Math.min(20 + Math.floor(rand() * 181), s.parkingSpaces - spaceNo);
    lotNo++;
    const lotId = `LOT-${district.code}-${pad(lotNo, 4)}`;
    const lotName = `${pick(rand, ROAD_STEMS)} ${rand() < 0.5 ? 'Public Car Park' : 'On-street Parking'} ${lotNo}`;
    const lat = district.lat + jitter(0.04);
    const lon = district.lon + jitter(0.04);
    for (let i = 0; i < spaces; i++) {
      spaceNo++;
      nodes.push({
        nodeId: `PK-${district.code}-${pad(spaceNo)}`,
        kind: 'parking',
        district: district.name,
        lat: round(lat + jitter(0.0005)),
        lon: round(lon + jitter(0.0005)),
        gatewayId: `GW-${lotId}`,
        lotId,
        lotName,
        spaces,
      });
    }
  }
  const lamps = nodes.filter((n): n is NodeOf<'streetlight'> => n.kind === 'streetlight');
  nodes.push(...waterloggingPoints(s, lamps, kinds), ...manholeCovers(s, lamps, kinds));
  return new NodeRegistry(nodes, designRoads(roads, s.seed), kinds);
}

/*
 * The shipped profile kinds' nodes come after the built-in ones, each kind from its own random
 * stream, so adding them left every built-in node (and every KPI computed from them) as it was.
 * Their attributes go through the kind's schema, which fills the profile's defaults.
 */

/** Lamps by district: where the profile kinds' nodes find a road and a position. */
function lampsByDistrict(lamps: readonly NodeOf<'streetlight'>[]): Map<string, NodeOf<'streetlight'>[]> {
  const by = new Map<string, NodeOf<'streetlight'>[]>();
  for (const l of lamps) {
    let list = by.get(l.district);
    if (!list) by.set(l.district, (list = []));
    list.push(l);
  }
  return by;
}

/** A road and a spot on it in the district: beside one of its lamps, or a road of its own when the district has none. */
function roadSpot(
  rand: () => number,
  district: (typeof DISTRICTS)[number],
  lamps: readonly NodeOf<'streetlight'>[] | undefined,
  spread: number,
): { road: string; lat: number; lon: number } {
  if (lamps && lamps.length > 0) {
    const lamp = pick(rand, lamps);
    return { road: lamp.road, lat: round(lamp.lat + (rand() - 0.5) * 2 * spread), lon: round(lamp.lon + (rand() - 0.5) * 2 * spread) };
  }
  return {
    road: `${pick(rand, ROAD_STEMS)} Road ${district.code}`,
    lat: round(district.lat + (rand() - 0.5) * 0.08),
    lon: round(district.lon + (rand() - 0.5) * 0.08),
  };
}

/** Depth sensors at underpasses (about 60 %, under expressways and main roads) and low points; direct NB-IoT devices. */
function waterloggingPoints(s: CitySize, lamps: readonly NodeOf<'streetlight'>[], kinds: KindCatalog): RegistryNode[] {
  const spec = kinds.get('waterlogging');
  if (!spec || s.waterloggingPoints <= 0) return [];
  const rand = seededRandom(s.seed ^ 0x0f10_0d5e);
  const byDistrict = lampsByDistrict(lamps);
  const names = new Set<string>();
  const out: RegistryNode[] = [];
  for (let i = 0; i < s.waterloggingPoints; i++) {
    const district = DISTRICTS[i % DISTRICTS.length]!;
    const underpass = rand() < 0.6;
    const all = byDistrict.get(district.name);
    const major = all?.filter((l) => l.roadClass === 'expressway' || l.roadClass === 'main');
    const spot = roadSpot(rand, district, underpass && major && major.length > 0 ? major : all, 0.0003);
    const base = `${spot.road} ${underpass ? 'Underpass' : 'Low Point'}`;
    const point = names.has(base) ? `${base} ${i + 1}` : base;
    names.add(point);
    out.push({
      nodeId: `WL-${district.code}-${pad(i + 1, 4)}`,
      kind: 'waterlogging',
      district: district.name,
      lat: spot.lat,
      lon: spot.lon,
      ...spec.attrs.parse({ point, road: spot.road, underpass }),
    });
  }
  return out;
}

/** Network mix of the covers on city roads: storm and sewer wells most, then telecom, power, water, heat. */
const COVER_NETWORKS: [string, number][] = [
  ['storm', 0.32],
  ['sewer', 0.3],
  ['telecom', 0.14],
  ['power', 0.1],
  ['water', 0.1],
  ['heat', 0.04],
];
/** Covers per NB-IoT platform gateway (one or more per district). */
const COVERS_PER_PLATFORM = 500;

/** Smart covers along the lamp roads, reporting through their district's NB-IoT platform gateways. */
function manholeCovers(s: CitySize, lamps: readonly NodeOf<'streetlight'>[], kinds: KindCatalog): RegistryNode[] {
  const spec = kinds.get('manhole');
  if (!spec || s.manholes <= 0) return [];
  const rand = seededRandom(s.seed ^ 0x3a4e_c0fe);
  const byDistrict = lampsByDistrict(lamps);
  const out: RegistryNode[] = [];
  for (let i = 0; i < s.manholes; i++) {
    const district = DISTRICTS[i % DISTRICTS.length]!;
    const spot = roadSpot(rand, district, byDistrict.get(district.name), 0.0002);
    let u = rand();
    const network = COVER_NETWORKS.find(([, share]) => (u -= share) < 0)?.[0] ?? 'storm';
    const platform = Math.floor(Math.floor(i / DISTRICTS.length) / COVERS_PER_PLATFORM) + 1;
    out.push({
      nodeId: `MH-${district.code}-${pad(i + 1)}`,
      kind: 'manhole',
      district: district.name,
      lat: spot.lat,
      lon: spot.lon,
      gatewayId: `GW-${district.code}-NB${pad(platform, 2)}`,
      ...spec.attrs.parse({ road: spot.road, network }),
    });
  }
  return out;
}

/**
 * The lighting design of the generated roads, drawn from its own random stream so the nodes stay
 * the same: about one road in eight is only partly fitted (5-25 % of its positions still without
 * a lamp), and one road in 12 (at least two) is a designed "road without lamps".
 */
function designRoads(fitted: RoadDesign[], seed: number): RoadDesign[] {
  if (fitted.length === 0) return [];
  const rand = seededRandom(seed ^ 0x5eed_1a3d);
  const roads = fitted.map((r) =>
    rand() < 0.125 ? { ...r, designedPositions: r.designedPositions + Math.ceil(r.designedPositions * (0.05 + 0.2 * rand())) } : r,
  );
  const unlit = Math.max(2, Math.round(fitted.length / 12));
  for (let i = 0; i < unlit; i++) {
    const district = DISTRICTS[(i * 5) % DISTRICTS.length]!;
    const roadClass: RoadClass = i % 3 === 0 ? 'secondary' : i % 3 === 1 ? 'branch' : 'alley';
    roads.push({
      road: `${pick(rand, ROAD_STEMS)} ${pick(rand, ROAD_SUFFIX[roadClass])} ${district.code}U${i + 1}`,
      roadClass,
      district: district.name,
      designedPositions: 20 + Math.floor(rand() * 61),
    });
  }
  return roads;
}

function offsetLines(red: number): WarningLines {
  return { yellow: round2(red + 0.55), orange: round2(red + 0.4), red: round2(red) };
}
function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
function zoneLabel(z: ZoneClass): string {
  return { '0': 'Quiet Zone', '1': 'Residential', '2': 'Mixed', '3': 'Industrial', '4a': 'Roadside', '4b': 'Railside' }[z];
}

/**
 * The design's mix for a city of about N nodes: 64 % lamps, 34 % parking spaces, 0.3 % noise
 * stations, 0.1 % wells; on top of them (the built-in kinds' counts stay what they were) 4 %
 * manhole covers (20,000 at 500,000) and a waterlogging point per 2,000 nodes, at least one a district.
 */
export function citySizeFor(nodes: number, seed = DEFAULT_CITY.seed): CitySize {
  return {
    lamps: Math.round(nodes * 0.64),
    parkingSpaces: Math.round(nodes * 0.34),
    noiseStations: Math.max(12, Math.round(nodes * 0.003)),
    wells: Math.max(5, Math.round(nodes * 0.001)),
    waterloggingPoints: Math.max(DISTRICTS.length, Math.round(nodes / 2000)),
    manholes: Math.max(DISTRICTS.length, Math.round(nodes * 0.04)),
    seed,
  };
}
