import { localDayStart } from '../../index.js';

/**
 * Parking sessions of one space from its detector's reports, exact under out-of-order and
 * repeated reports within a reorder window: reports newer than the space's newest minus the window
 * are kept (packed as ts * 2 + occupied); older ones are folded into the run state and the tally
 * of sessions completed on one local day. A session is an occupied run that ends in a free report
 * (a completed occupied -> free transition); it counts on the local day it ends, with its whole
 * parked time (arrival to departure, even across midnight). A run whose start was not seen (the
 * first report of a space says occupied) is not counted: its dwell is unknown.
 */
export interface SpaceSessions {
  /** Folded state: status at the fold point, and when the current occupied run began (null: start unknown or not occupied). */
  status: 'occupied' | 'free' | null;
  since: number | null;
  /** Sessions completed (and folded) on the local day starting at `day`. */
  day: number;
  sessions: number;
  parkedMs: number;
  /** Reports within the reorder window: ts * 2 + (occupied ? 1 : 0), ascending, one per timestamp. */
  recent: number[];
}

export function emptySessions(): SpaceSessions {
  return { status: null, since: null, day: 0, sessions: 0, parkedMs: 0, recent: [] };
}

const tsOf = (packed: number) => Math.floor(packed / 2);
const occupiedOf = (packed: number) => packed % 2 === 1;

/** Walks reports in order from a run state; calls `done` for every completed session. */
function walk(
  state: { status: SpaceSessions['status']; since: number | null },
  packed: readonly number[],
  done: (end: number, dwell: number) => void,
) {
  let { status, since } = state;
  for (const p of packed) {
    const ts = tsOf(p);
    if (occupiedOf(p)) {
      if (status !== 'occupied') {
        since = status === 'free' ? ts : null;
        status = 'occupied';
      }
    } else {
      if (status === 'occupied' && since !== null) done(ts, ts - since);
      status = 'free';
      since = null;
    }
  }
  return { status, since };
}

/**
 * Adds one report. Returns false when it changes nothing: a repeat (same timestamp) or a report
 * older than the reorder window (late: its day's tally is already folded).
 */
export function addReport(s: SpaceSessions, ts: number, occupied: boolean, reorderWindowMs: number): boolean {
  const packed = ts * 2 + (occupied ? 1 : 0);
  const newest = s.recent.length > 0 ? tsOf(s.recent[s.recent.length - 1]!) : -Infinity;
  if (ts < newest - reorderWindowMs) return false;
  // Binary search for the insertion point; a report with the same timestamp is a repeat.
  let lo = 0;
  let hi = s.recent.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (tsOf(s.recent[mid]!) < ts) lo = mid + 1;
    else hi = mid;
  }
  if (lo < s.recent.length && tsOf(s.recent[lo]!) === ts) return false;
  s.recent.splice(lo, 0, packed);
  fold(s, Math.max(newest, ts) - reorderWindowMs);
  return true;
}

/** Folds the reports older than `before` into the run state and the day's tally. */
function fold(s: SpaceSessions, before: number): void {
  let n = 0;
  while (n < s.recent.length && tsOf(s.recent[n]!) < before) n++;
  if (n === 0) return;
  const folded = s.recent.splice(0, n);
  const run = walk(s, folded, (end, dwell) => {
    const day = localDayStart(end);
    if (day !== s.day) {
      s.day = day;
      s.sessions = 0;
      s.parkedMs = 0;
    }
    s.sessions++;
    s.parkedMs += dwell;
  });
  s.status = run.status;
  s.since = run.since;
}

/** Sessions completed on the local day containing `now`, and their total parked time. */
export function sessionsOfDay(s: SpaceSessions, now: number): { sessions: number; parkedMs: number } {
  const day = localDayStart(now);
  let sessions = s.day === day ? s.sessions : 0;
  let parkedMs = s.day === day ? s.parkedMs : 0;
  walk(s, s.recent, (end, dwell) => {
    if (localDayStart(end) === day) {
      sessions++;
      parkedMs += dwell;
    }
  });
  return { sessions, parkedMs };
}
