import {
  lampTimetable,
  restsAtHalfNight,
  type AlertCondition,
  type LampTimetable,
  type NodeOf,
  type NodeRegistry,
  type ReadingRecord,
  type RoadClass,
  type StreetlightReading,
} from '../../index.js';
import { ChangeLog, IncrementalList, type Judgement } from '../../../processors/incremental.js';
import { groupLayout, LayoutCache } from '../../../processors/layout.js';
import { inWarmUp, isFresh } from '../../../processors/freshness.js';
import type { EvalContext, KindPartial, KindProcessor } from '../../../processors/types.js';
import { openFault } from './faults.js';
import { lampCondition, type LampCondition } from './lamp.js';
import { lampIndex } from './sizes.js';

type Lamp = NodeOf<'streetlight'>;

/** Mergeable lighting counts of one partition. */
export interface LightingSection {
  /** `${district}|${roadClass}` -> lamps lit / expected / not yet known / resting (half-night, not expected). */
  groups: Record<string, { district: string; roadClass: RoadClass; lit: number; expected: number; unknown: number; resting?: number }>;
  /** Only circuits with a dark lamp here: the dark lamps. */
  circuits: Record<string, { district: string; road: string; dark: [nodeId: string, why: LampCondition][] }>;
  /** Only roads with a dark lamp here (while scheduled on): dark lamps; the merger knows each road's lamps from the registry. */
  roads?: Record<string, number>;
  /**
   * Lamps not yet judged (while scheduled on) per circuit and per road, by position in the
   * registry's order (`lampIndex`); absent when there are none. Positions, not names: in the
   * warm-up every circuit has some in every partition, and names would make partials megabytes.
   */
  circuitsUnknown?: number[];
  roadsUnknown?: number[];
  /** District -> [facilities, intact] (no open fault), day and night. */
  intact?: Record<string, [facilities: number, intact: number]>;
  onInDaytime: number;
}

/** The switching timetable with half-night, from the configuration. */
export function scheduleFor(ctx: EvalContext): LampTimetable {
  const c = ctx.config;
  return lampTimetable(ctx.now, {
    lat: c.CITY_LAT,
    lon: c.CITY_LON,
    onOffsetMin: c.LIGHTING_ON_OFFSET_MIN,
    offOffsetMin: c.LIGHTING_OFF_OFFSET_MIN,
    halfNight: c.LIGHTING_HALF_NIGHT === 'on',
    summerStartMin: c.LIGHTING_HALF_NIGHT_SUMMER,
    winterStartMin: c.LIGHTING_HALF_NIGHT_WINTER,
  });
}

/**
 * A lamp's judgement: what it adds to the tallies, as `category * 2 + intact` (intact: no open
 * fault). Categories while scheduled off: not on / on in daytime; while on: resting at
 * half-night / lit / unknown / dark for each reason.
 */
const OFF = 0;
const ON_IN_DAYTIME = 1;
const RESTING = 2;
const LIT = 3;
const UNKNOWN = 4;
const DARK: Record<Exclude<LampCondition, 'lit' | 'unknown'>, number> = { 'no-report': 5, 'reported-off': 6, 'under-power': 7 };
const DARK_WHY: Record<number, LampCondition> = { 5: 'no-report', 6: 'reported-off', 7: 'under-power' };

/** The evaluation a lamp is judged in: its context and the lamp timetable at its time. */
type LampMoment = EvalContext & { timetable: LampTimetable };

/** One lamp list's lighting tallies, kept current incrementally (see ../incremental.ts). */
class LampTallies {
  readonly groupOf: Uint32Array;
  readonly groups: { key: string; district: string; roadClass: RoadClass }[];
  readonly districtOf: Uint32Array;
  readonly districts: string[];
  readonly facilities: Int32Array;
  readonly intervalS: Float64Array;
  /** 1: the lamp rests in half-night mode. */
  readonly rests: Uint8Array;
  /** Position of each lamp's circuit and road in the registry's order (`lampIndex`). */
  readonly circuitAt: Uint32Array;
  readonly roadAt: Uint32Array;
  // The tallies.
  readonly intact: Int32Array;
  /** Per road class group: [lit, dark, unknown, resting]. */
  readonly byGroup: Int32Array;
  readonly circuitsUnknown: number[];
  readonly roadsUnknown: number[];
  unknown = 0;
  /** Lamps dark (by circuit position) and on in daytime. */
  readonly dark = new Map<number, Set<number>>();
  readonly roadsDark = new Map<number, number>();
  readonly onInDaytime = new Set<number>();
  readonly list: IncrementalList<number, LampMoment>;

  constructor(
    lamps: readonly Lamp[],
    registry: NodeRegistry,
    log: ChangeLog,
    judge: (lamp: Lamp, intervalS: number, rests: boolean, at: LampMoment) => Judgement<number>,
  ) {
    const index = lampIndex(registry);
    const byGroup = groupLayout(
      lamps,
      (l) => `${l.district}|${l.roadClass}`,
      (key, l) => ({ key, district: l.district, roadClass: l.roadClass }),
    );
    const byDistrict = groupLayout(
      lamps,
      (l) => l.district,
      (key) => key,
    );
    [this.groupOf, this.groups, this.districtOf, this.districts] = [byGroup.groupOf, byGroup.groups, byDistrict.groupOf, byDistrict.groups];
    this.facilities = new Int32Array(this.districts.length);
    for (const d of this.districtOf) this.facilities[d]!++;
    this.intervalS = Float64Array.from(lamps, (l) => registry.expectedIntervalS(l));
    this.rests = Uint8Array.from(lamps, (l) => (restsAtHalfNight(l.nodeId) ? 1 : 0));
    this.circuitAt = Uint32Array.from(lamps, (l) => index.circuitAt.get(l.circuit)!);
    this.roadAt = Uint32Array.from(lamps, (l) => index.roadAt.get(l.road)!);
    this.intact = new Int32Array(this.districts.length);
    this.byGroup = new Int32Array(this.groups.length * 4);
    this.circuitsUnknown = new Array<number>(index.circuitIds.length).fill(0);
    this.roadsUnknown = new Array<number>(index.roadIds.length).fill(0);
    this.list = new IncrementalList(
      lamps.map((l) => l.nodeId),
      log,
      {
        judge: (i, at) => judge(lamps[i]!, this.intervalS[i]!, this.rests[i] === 1, at),
        add: (i, value) => this.#count(i, value, 1),
        remove: (i, value) => this.#count(i, value, -1),
        reset: () => {
          for (const a of [this.intact, this.byGroup, this.circuitsUnknown, this.roadsUnknown]) a.fill(0);
          this.unknown = 0;
          this.dark.clear();
          this.roadsDark.clear();
          this.onInDaytime.clear();
        },
      },
    );
  }

  #count(i: number, value: number, by: 1 | -1): void {
    if (value & 1) this.intact[this.districtOf[i]!]! += by;
    const category = value >> 1;
    const group = this.groupOf[i]! * 4;
    if (category === ON_IN_DAYTIME) {
      if (by > 0) this.onInDaytime.add(i);
      else this.onInDaytime.delete(i);
    } else if (category === RESTING) this.byGroup[group + 3]! += by;
    else if (category === LIT) this.byGroup[group]! += by;
    else if (category === UNKNOWN) {
      this.byGroup[group + 2]! += by;
      this.circuitsUnknown[this.circuitAt[i]!]! += by;
      this.roadsUnknown[this.roadAt[i]!]! += by;
      this.unknown += by;
    } else if (category >= DARK['no-report']) {
      this.byGroup[group + 1]! += by;
      const circuit = this.circuitAt[i]!;
      let set = this.dark.get(circuit);
      if (!set) this.dark.set(circuit, (set = new Set()));
      if (by > 0) set.add(i);
      else if (set.delete(i) && set.size === 0) this.dark.delete(circuit);
      const road = this.roadAt[i]!;
      const n = (this.roadsDark.get(road) ?? 0) + by;
      if (n === 0) this.roadsDark.delete(road);
      else this.roadsDark.set(road, n);
    }
  }
}

/** Street lamps: each lamp's latest report, judged lit or dark while the timetable says on. */
export class LightingProcessor implements KindProcessor<'streetlight', LightingSection> {
  readonly kind = 'streetlight' as const;
  readonly #latest = new Map<string, StreetlightReading>();
  /** Lamps whose state changed, for the incremental tallies. */
  readonly #changes = new ChangeLog();
  readonly #tallies = new LayoutCache<LampTallies>();

  apply(record: ReadingRecord<'streetlight'>): void {
    this.#changes.note(record.nodeId);
    const prev = this.#latest.get(record.nodeId);
    // Newest event time wins; equal times keep the first (a replay changes nothing).
    if (!prev || record.reading.ts > prev.ts) this.#latest.set(record.nodeId, record.reading);
  }

  #condition(
    lamp: Lamp,
    latest: StreetlightReading | undefined,
    intervalS: number,
    o: { since: number; grace: number; now: number },
  ): LampCondition {
    if (!latest && inWarmUp(o.since, intervalS, o.grace, o.now)) return 'unknown';
    return lampCondition(latest, isFresh(latest?.ts, intervalS, o.grace, o.now), lamp.ratedW);
  }

  /** A lamp's judgement at `now` under the current timetable, and until when it holds (its report goes stale, the warm-up ends). */
  #judge(lamp: Lamp, intervalS: number, rests: boolean, { now, since, config, timetable }: LampMoment): Judgement<number> {
    const grace = config.ONLINE_GRACE_FACTOR;
    const latest = this.#latest.get(lamp.nodeId);
    const limit = intervalS * grace * 1000;
    const state = this.#condition(lamp, latest, intervalS, { since, grace, now });
    const until = latest ? (state === 'no-report' ? Infinity : latest.ts + limit) : state === 'unknown' ? since + limit - 1 : Infinity;
    const intact = openFault(latest, state) === null ? 1 : 0;
    let category: number;
    if (!timetable.on) category = latest && latest.powerState !== 'off' && state !== 'no-report' ? ON_IN_DAYTIME : OFF;
    // Switched off by the half-night timetable: not expected to be lit (lit is no error either).
    else if (timetable.halfNight && rests) category = RESTING;
    else if (state === 'lit') category = LIT;
    // Not yet judged: left out of rates and alerts until the warm-up has passed.
    else if (state === 'unknown') category = UNKNOWN;
    else category = DARK[state];
    return { value: category * 2 + intact, until };
  }

  partial(lamps: readonly Lamp[], ctx: EvalContext): KindPartial<LightingSection> {
    const timetable = scheduleFor(ctx);
    const t = this.#tallies.get(
      lamps,
      (list) => new LampTallies(list, ctx.registry, this.#changes, (lamp, intervalS, rests, at) => this.#judge(lamp, intervalS, rests, at)),
    );
    // Everything a judgement depends on besides the lamp and the time: a change judges all lamps again.
    t.list.update({ ...ctx, timetable }, `${timetable.on}|${timetable.halfNight}|${ctx.since}|${ctx.config.ONLINE_GRACE_FACTOR}`);
    const section: LightingSection = { groups: {}, circuits: {}, roads: {}, intact: {}, onInDaytime: t.onInDaytime.size };
    t.districts.forEach((district, d) => (section.intact![district] = [t.facilities[d]!, t.intact[d]!]));
    const conditions: AlertCondition[] = [...t.onInDaytime]
      .sort((a, b) => a - b)
      .map((i) => {
        const lamp = lamps[i]!;
        return {
          alertname: 'StreetlightOnInDaytime',
          severity: 'minor',
          labels: { kind: 'streetlight', district: lamp.district, node: lamp.nodeId, circuit: lamp.circuit },
          summary: `lamp ${lamp.nodeId} on ${lamp.road} is on in daytime`,
        };
      });
    if (!timetable.on) return { section, conditions };
    t.groups.forEach(({ key, district, roadClass }, g) => {
      const [lit, dark, unknown, resting] = t.byGroup.subarray(g * 4, g * 4 + 4) as unknown as [number, number, number, number];
      section.groups[key] = { district, roadClass, lit, expected: lit + dark, unknown, resting };
    });
    for (const dark of t.dark.values()) {
      const ordered = [...dark].sort((a, b) => a - b);
      const first = lamps[ordered[0]!]!;
      section.circuits[first.circuit] = {
        district: first.district,
        road: first.road,
        dark: ordered.map((i) => [lamps[i]!.nodeId, DARK_WHY[t.list.valueOf(i)! >> 1]!]),
      };
    }
    const { roadIds } = lampIndex(ctx.registry);
    for (const [road, n] of t.roadsDark) section.roads![roadIds[road]!] = n;
    if (t.unknown > 0) Object.assign(section, { circuitsUnknown: [...t.circuitsUnknown], roadsUnknown: [...t.roadsUnknown] });
    return { section, conditions };
  }

  exportNode(nodeId: string): unknown {
    return this.#latest.get(nodeId);
  }

  importNode(nodeId: string, state: unknown): void {
    if (state === undefined || state === null) return;
    this.#changes.note(nodeId);
    this.#latest.set(nodeId, state as StreetlightReading);
  }

  describe(lamp: Lamp, ctx: EvalContext) {
    const latest = this.#latest.get(lamp.nodeId);
    const condition = this.#condition(lamp, latest, ctx.registry.expectedIntervalS(lamp), {
      since: ctx.since,
      grace: ctx.config.ONLINE_GRACE_FACTOR,
      now: ctx.now,
    });
    const timetable = scheduleFor(ctx);
    return {
      latest,
      derived: { condition, fault: openFault(latest, condition), resting: timetable.halfNight && restsAtHalfNight(lamp.nodeId) },
    };
  }
}
