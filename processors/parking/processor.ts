import type { NodeOf, ParkingReading, ReadingRecord } from '../../core/index.js';
import { isFresh } from '../freshness.js';
import type { EvalContext, KindPartial, KindProcessor } from '../types.js';
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

/** One space's exported state (JSON). */
interface SpaceState {
  latest?: ParkingReading;
  sessions?: SpaceSessions;
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

  constructor(options: ParkingOptions = {}) {
    this.#window = options.reorderWindowMs ?? 3_600_000;
  }

  apply(record: ReadingRecord<'parking'>): void {
    const { nodeId, reading } = record;
    const prev = this.#latest.get(nodeId);
    // Newest event time wins; equal times keep the first (a replay changes nothing).
    if (!prev || reading.ts > prev.ts) this.#latest.set(nodeId, reading);
    let s = this.#sessions.get(nodeId);
    if (!s) this.#sessions.set(nodeId, (s = emptySessions()));
    addReport(s, reading.ts, reading.status === 'occupied', this.#window);
  }

  #spaceState(space: Space, ctx: EvalContext): 'occupied' | 'free' | 'unknown' {
    const r = this.#latest.get(space.nodeId);
    if (!r || !isFresh(r.ts, ctx.registry.expectedIntervalS(space), ctx.config.ONLINE_GRACE_FACTOR, ctx.now)) return 'unknown';
    return r.status;
  }

  partial(spaces: readonly Space[], ctx: EvalContext): KindPartial<ParkingSection> {
    const lots: ParkingSection['lots'] = {};
    for (const space of spaces) {
      const counts = (lots[space.lotId] ??= [0, 0, 0, 0]);
      const state = this.#spaceState(space, ctx);
      if (state === 'occupied') counts[0]++;
      else if (state === 'free') counts[1]++;
      const s = this.#sessions.get(space.nodeId);
      if (s) {
        const today = sessionsOfDay(s, ctx.now);
        counts[2]! += today.sessions;
        counts[3]! += today.parkedMs;
      }
    }
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
    // A bare reading: a snapshot from before sessions were tracked.
    if (typeof s.ts === 'number' && typeof s.status === 'string') return void this.#latest.set(nodeId, s as ParkingReading);
    if (s.latest) this.#latest.set(nodeId, s.latest);
    if (s.sessions) this.#sessions.set(nodeId, { ...s.sessions, recent: [...s.sessions.recent] });
  }

  describe(space: Space, ctx: EvalContext) {
    const s = this.#sessions.get(space.nodeId);
    return { latest: this.#latest.get(space.nodeId), derived: { space: this.#spaceState(space, ctx), today: s ? sessionsOfDay(s, ctx.now) : { sessions: 0, parkedMs: 0 } } };
  }
}
