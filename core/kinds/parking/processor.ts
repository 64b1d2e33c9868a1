import { withDefaults } from '../../defaults.js';
import { localDayStart, type NodeOf, type NodeRegistry, type ParkingReading, type ReadingRecord } from '../../index.js';
import { isFresh } from '../../../processors/freshness.js';
import { ChangeLog, IncrementalList, type Judgement } from '../../../processors/incremental.js';
import { groupLayout, LayoutCache, type GroupLayout } from '../../../processors/layout.js';
import type { EvalContext, KindPartial, KindProcessor } from '../../../processors/types.js';
import { addReport, emptySessions, sessionsOfDay, type SpaceSessions } from './sessions.js';

type Space = NodeOf<'parking'>;

/** Per lot, this partition's spaces known occupied and known free, and today's completed sessions with their parked time (ms). */
export interface ParkingSection {
  lots: Record<string, [occupied: number, free: number, sessions?: number, parkedMs?: number]>;
}

export interface ParkingOptions {
  /**
   * Reports this much older than a space's newest are late for its sessions (the tally of their
   * day is folded). Match the pipeline's allowed lateness (`ALLOWED_LATENESS_S`).
   */
  reorderWindowMs?: number;
}

/** The parking processor's defaults (the kind module passes the pipeline's lateness). */
export const PARKING_DEFAULTS = {
  reorderWindowMs: 3_600_000,
};

/** One space's exported state (JSON). */
interface SpaceState {
  latest?: ParkingReading;
  sessions?: SpaceSessions;
}

const DAY_MS = 86_400_000;

interface SpaceJudgement {
  state: 'occupied' | 'free' | 'unknown';
  sessions: number;
  parkedMs: number;
}

/** One space list's counts per lot (spaces occupied and free, today's sessions and parked time), kept current incrementally. */
class LotTallies {
  readonly layout: GroupLayout<string>;
  readonly occupied: Float64Array;
  readonly free: Float64Array;
  readonly sessions: Float64Array;
  readonly parkedMs: Float64Array;
  readonly list: IncrementalList<SpaceJudgement, EvalContext>;

  constructor(
    spaces: readonly Space[],
    registry: NodeRegistry,
    log: ChangeLog,
    judge: (space: Space, intervalS: number, at: EvalContext) => Judgement<SpaceJudgement>,
  ) {
    this.layout = groupLayout(
      spaces,
      (space) => space.lotId,
      (lotId) => lotId,
    );
    const lots = this.layout.groups.length;
    [this.occupied, this.free, this.sessions, this.parkedMs] = [0, 1, 2, 3].map(() => new Float64Array(lots)) as [
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
    ];
    const intervalS = Float64Array.from(spaces, (space) => registry.expectedIntervalS(space));
    const count = (i: number, v: SpaceJudgement, by: 1 | -1) => {
      const lot = this.layout.groupOf[i]!;
      if (v.state === 'occupied') this.occupied[lot]! += by;
      else if (v.state === 'free') this.free[lot]! += by;
      this.sessions[lot]! += by * v.sessions;
      this.parkedMs[lot]! += by * v.parkedMs;
    };
    this.list = new IncrementalList(
      spaces.map((space) => space.nodeId),
      log,
      {
        judge: (i, at) => judge(spaces[i]!, intervalS[i]!, at),
        add: (i, v) => count(i, v, 1),
        remove: (i, v) => count(i, v, -1),
        reset: () => [this.occupied, this.free, this.sessions, this.parkedMs].forEach((a) => a.fill(0)),
      },
    );
  }
}

/**
 * Parking detectors: each space's latest state (a detector silent past its interval x grace is
 * unknown, never free) and its parking sessions by event time (turnover, dwell).
 */
export class ParkingProcessor implements KindProcessor<'parking', ParkingSection> {
  readonly kind = 'parking' as const;
  readonly #latest = new Map<string, ParkingReading>();
  readonly #sessions = new Map<string, SpaceSessions>();
  readonly #window: number;
  /** Spaces whose state changed, for the incremental lot counts. */
  readonly #changes = new ChangeLog();
  readonly #tallies = new LayoutCache<LotTallies>();

  constructor(options: ParkingOptions = {}) {
    this.#window = withDefaults(PARKING_DEFAULTS, options).reorderWindowMs;
  }

  apply(record: ReadingRecord<'parking'>): void {
    const { nodeId, reading } = record;
    this.#changes.note(nodeId);
    const prev = this.#latest.get(nodeId);
    // Newest event time wins; equal times keep the first (a replay changes nothing).
    if (!prev || reading.ts > prev.ts) this.#latest.set(nodeId, reading);
    let s = this.#sessions.get(nodeId);
    if (!s) this.#sessions.set(nodeId, (s = emptySessions()));
    addReport(s, reading.ts, reading.status === 'occupied', this.#window);
  }

  #spaceState(space: Space, intervalS: number, ctx: EvalContext): 'occupied' | 'free' | 'unknown' {
    const r = this.#latest.get(space.nodeId);
    if (!r || !isFresh(r.ts, intervalS, ctx.config.ONLINE_GRACE_FACTOR, ctx.now)) return 'unknown';
    return r.status;
  }

  /** A space's part of its lot's counts at `now`, and until when it holds (its report goes stale, the local day ends). */
  #judge(space: Space, intervalS: number, { now, config }: EvalContext): Judgement<SpaceJudgement> {
    const grace = config.ONLINE_GRACE_FACTOR;
    const r = this.#latest.get(space.nodeId);
    const s = this.#sessions.get(space.nodeId);
    const fresh = r !== undefined && isFresh(r.ts, intervalS, grace, now);
    const today = s ? sessionsOfDay(s, now) : { sessions: 0, parkedMs: 0 };
    const dayEnds = localDayStart(now) + DAY_MS - 1;
    return {
      value: { state: fresh ? r.status : 'unknown', ...today },
      until: fresh ? Math.min(r.ts + intervalS * grace * 1000, dayEnds) : s ? dayEnds : Infinity,
    };
  }

  partial(spaces: readonly Space[], ctx: EvalContext): KindPartial<ParkingSection> {
    const t = this.#tallies.get(
      spaces,
      (list) => new LotTallies(list, ctx.registry, this.#changes, (space, intervalS, at) => this.#judge(space, intervalS, at)),
    );
    t.list.update(ctx, String(ctx.config.ONLINE_GRACE_FACTOR));
    const lots: ParkingSection['lots'] = {};
    t.layout.groups.forEach((lotId, lot) => (lots[lotId] = [t.occupied[lot]!, t.free[lot]!, t.sessions[lot]!, t.parkedMs[lot]!]));
    return { section: { lots }, conditions: [] };
  }

  exportNode(nodeId: string): unknown {
    const latest = this.#latest.get(nodeId);
    const sessions = this.#sessions.get(nodeId);
    if (!latest && !sessions) return undefined;
    return { latest, sessions: sessions && { ...sessions, recent: [...sessions.recent] } } satisfies SpaceState;
  }

  importNode(nodeId: string, state: unknown): void {
    const s = state as (SpaceState & Partial<ParkingReading>) | undefined;
    if (!s) return;
    this.#changes.note(nodeId);
    // A bare reading: a snapshot from before sessions were tracked.
    if (typeof s.ts === 'number' && typeof s.status === 'string') return void this.#latest.set(nodeId, s as ParkingReading);
    if (s.latest) this.#latest.set(nodeId, s.latest);
    if (s.sessions) this.#sessions.set(nodeId, { ...s.sessions, recent: [...s.sessions.recent] });
  }

  describe(space: Space, ctx: EvalContext) {
    const s = this.#sessions.get(space.nodeId);
    return {
      latest: this.#latest.get(space.nodeId),
      derived: {
        space: this.#spaceState(space, ctx.registry.expectedIntervalS(space), ctx),
        today: s ? sessionsOfDay(s, ctx.now) : { sessions: 0, parkedMs: 0 },
      },
    };
  }
}
