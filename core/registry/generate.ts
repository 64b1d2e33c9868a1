import type { RoadClass, ZoneClass, WarningLines } from '../kinds/index.js';
import { pick, seededRandom } from '../random.js';
import { DISTRICTS } from './districts.js';
import type { RegistryNode } from './node.js';
import { NodeRegistry } from './registry.js';
import type { RoadDesign } from './roads.js';

export interface CitySize {
  lamps: number;
  parkingSpaces: number;
  noiseStations: number;
  wells: number;
  seed: number;
}

/** The embedded default: a few thousand nodes, enough for every KPI and alert to mean something. */
export const DEFAULT_CITY: CitySize = { lamps: 2400, parkingSpaces: 1200, noiseStations: 48, wells: 24, seed: 20261126 };

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
const ROAD_STEMS = ['Jingshi', 'Quancheng', 'Lishan', 'Heping', 'Jiefang', 'Wenhua', 'Shanda', 'Minghu', 'Daming', 'Qianfo', 'Baotu', 'Heihu', 'Yingxiong', 'Shunhua', 'Aoti', 'Gongye', 'Beiyuan', 'Lvyou', 'Xinyu', 'Huayuan', 'Qingnian', 'Jingqi', 'Weishi', 'Luoyuan', 'Furong', 'Kuanhou', 'Quanfu', 'Huancheng', 'Zhiyuan', 'Erhuan'];

/** Published spring wells with their warning lines (Baotu's ladder is the city's emergency plan; the others are operating choices near their outflow elevations). */
const SPRING_WELLS: { well: string; springGroup: string; district: string; lat: number; lon: number; lines: WarningLines }[] = [
  { well: 'Baotu Spring', springGroup: 'Baotu', district: 'Lixia', lat: 36.6612, lon: 117.0124, lines: { yellow: 28.15, orange: 28.0, red: 27.6 } },
  { well: 'Black Tiger Spring', springGroup: 'Black Tiger', district: 'Lixia', lat: 36.6578, lon: 117.0262, lines: { yellow: 28.0, orange: 27.8, red: 27.5 } },
  { well: 'Pearl Spring', springGroup: 'Pearl', district: 'Lixia', lat: 36.6686, lon: 117.0199, lines: { yellow: 27.3, orange: 27.05, red: 26.77 } },
  { well: 'Five Dragon Pool', springGroup: 'Five Dragon', district: 'Lixia', lat: 36.6663, lon: 117.0131, lines: { yellow: 26.8, orange: 26.55, red: 26.3 } },
  { well: 'Yongqing Street', springGroup: 'Baotu', district: 'Shizhong', lat: 36.6585, lon: 117.0045, lines: { yellow: 28.15, orange: 28.0, red: 27.6 } },
];
const ZONES: ZoneClass[] = ['0', '1', '2', '3', '4a', '4b'];

function pad(n: number, width = 6): string {
  return String(n).padStart(width, '0');
}

/**
 * A deterministic city: lamps on named roads in 40-lamp circuits (with the lighting design: some
 * roads partly fitted, a few roads without lamps), spring wells, noise stations of every zone
 * class, parking lots.
 */
export function generateCity(size: Partial<CitySize> = {}): NodeRegistry {
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
  return new NodeRegistry(nodes, designRoads(roads, s.seed));
}

/**
 * The lighting design of the generated roads, drawn from its own random stream so the nodes stay
 * the same: about one road in eight is only partly fitted (5-25 % of its positions still without
 * a lamp), and one road in 12 (at least two) is a designed "road without lamps".
 */
function designRoads(fitted: RoadDesign[], seed: number): RoadDesign[] {
  if (fitted.length === 0) return [];
  const rand = seededRandom(seed ^ 0x5eed_1a3d);
  const roads = fitted.map((r) => (rand() < 0.125 ? { ...r, designedPositions: r.designedPositions + Math.ceil(r.designedPositions * (0.05 + 0.2 * rand())) } : r));
  const unlit = Math.max(2, Math.round(fitted.length / 12));
  for (let i = 0; i < unlit; i++) {
    const district = DISTRICTS[(i * 5) % DISTRICTS.length]!;
    const roadClass: RoadClass = i % 3 === 0 ? 'secondary' : i % 3 === 1 ? 'branch' : 'alley';
    roads.push({ road: `${pick(rand, ROAD_STEMS)} ${pick(rand, ROAD_SUFFIX[roadClass])} ${district.code}U${i + 1}`, roadClass, district: district.name, designedPositions: 20 + Math.floor(rand() * 61) });
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

/** The design's mix for a city of about N nodes: 64 % lamps, 34 % parking spaces, 0.3 % noise stations, 0.1 % wells. */
export function citySizeFor(nodes: number, seed = DEFAULT_CITY.seed): CitySize {
  return {
    lamps: Math.round(nodes * 0.64),
    parkingSpaces: Math.round(nodes * 0.34),
    noiseStations: Math.max(12, Math.round(nodes * 0.003)),
    wells: Math.max(5, Math.round(nodes * 0.001)),
    seed,
  };
}
