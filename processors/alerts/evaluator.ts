import {
  MAX_ALERT_NOTES,
  withDefaults,
  type Alert,
  type AlertActor,
  type AlertCondition,
  type AlertNote,
  type AlertState,
} from '../../core/index.js';
import { fingerprint } from './fingerprint.js';

export interface EvaluatorOptions {
  /** A condition must hold this long before its alert fires. */
  holdMs: number;
  /** A firing alert resolves once its condition has been gone this long. */
  resolveHoldMs: number;
  /** Resolved alerts kept for the API. */
  historySize?: number;
  /** Where an alert with these labels is, set when it fires (crews' map). */
  locate?: (labels: Record<string, string>) => { lat: number; lon: number } | undefined;
}

/** The evaluator's defaults (the hold times come from config). */
export const EVALUATOR_DEFAULTS = {
  historySize: 1000,
};

interface Pending {
  since: number;
  condition: AlertCondition;
}

/** Since when each pending condition has held and each firing alert's condition has been gone, by alert id. */
export interface EvaluatorHolds {
  pending: [string, number][];
  missingSince: [string, number][];
}

export interface EvaluatorState {
  pending: [string, Pending][];
  active: Alert[];
  missingSince: [string, number][];
  history: Alert[];
}

/**
 * The alert lifecycle: condition seen -> (hold) -> firing -> acknowledged -> resolved. Hold times
 * keep a value sitting on a line from flapping; ids are label fingerprints, so one problem is one
 * alert across restarts.
 */
export class AlertEvaluator {
  readonly #pending = new Map<string, Pending>();
  readonly #active = new Map<string, Alert>();
  readonly #missingSince = new Map<string, number>();
  readonly #history: Alert[] = [];
  readonly #historySize: number;
  /** Pending holds taken over (importHolds), for the conditions the first evaluation still sees. */
  #heldSince = new Map<string, number>();
  #revision = 0;

  constructor(readonly options: EvaluatorOptions) {
    this.#historySize = withDefaults(EVALUATOR_DEFAULTS, options).historySize;
  }

  /**
   * Goes up whenever the lifecycle changes (a condition pending or gone, an alert firing,
   * acknowledged, noted, its condition missing or back, resolved), not when only values and
   * summaries move: what is worth saving (the next evaluation brings the values again).
   */
  get revision(): number {
    return this.#revision;
  }

  /** Feeds the complete set of current conditions; returns the alerts whose state changed. */
  evaluate(conditions: AlertCondition[], now: number): Alert[] {
    const changed: Alert[] = [];
    const seen = new Set<string>();
    for (const condition of conditions) {
      const labels = { alertname: condition.alertname, severity: condition.severity, ...condition.labels };
      const id = fingerprint(labels);
      if (seen.has(id)) continue;
      seen.add(id);
      const active = this.#active.get(id);
      if (active) {
        if (this.#missingSince.delete(id)) this.#revision++;
        if (active.value !== condition.value || active.summary !== condition.summary) {
          active.value = condition.value;
          active.summary = condition.summary;
          active.updatedAt = now;
        }
        continue;
      }
      const pending = this.#pending.get(id) ?? {
        since: Math.min(condition.since ?? now, now, this.#heldSince.get(id) ?? Infinity),
        condition,
      };
      pending.condition = condition;
      if (!this.#pending.has(id)) this.#revision++;
      this.#pending.set(id, pending);
      if (now - pending.since >= (condition.holdMs ?? this.options.holdMs)) {
        this.#pending.delete(id);
        const alert: Alert = {
          id,
          alertname: condition.alertname,
          severity: condition.severity,
          labels,
          summary: condition.summary,
          ...(condition.value !== undefined ? { value: condition.value } : {}),
          ...this.options.locate?.(labels),
          state: 'firing',
          startsAt: pending.since,
          firedAt: now,
          updatedAt: now,
        };
        this.#active.set(id, alert);
        this.#revision++;
        changed.push({ ...alert });
      }
    }
    for (const id of this.#pending.keys()) if (!seen.has(id) && this.#pending.delete(id)) this.#revision++;
    this.#heldSince.clear(); // a condition gone at the first evaluation starts afresh, as any pending one
    for (const [id, alert] of this.#active) {
      if (seen.has(id)) continue;
      const since = this.#missingSince.get(id) ?? now;
      if (!this.#missingSince.has(id)) this.#revision++;
      this.#missingSince.set(id, since);
      if (now - since >= this.options.resolveHoldMs) {
        this.#active.delete(id);
        this.#missingSince.delete(id);
        alert.state = 'resolved';
        alert.resolvedAt = now;
        alert.updatedAt = now;
        this.#remember(alert);
        changed.push({ ...alert });
      }
    }
    return changed;
  }

  /** Acknowledges an active alert (once: a second acknowledgement is a note); resolved ones are `not-active`. */
  acknowledge(id: string, actor: AlertActor, now: number, text?: string): Alert | 'not-found' | 'not-active' {
    const alert = this.#active.get(id);
    if (!alert) return this.#history.some((a) => a.id === id) ? 'not-active' : 'not-found';
    const first = alert.state === 'firing';
    if (first) {
      alert.state = 'acknowledged';
      alert.acknowledgedAt = now;
      alert.acknowledgedBy = actor.by;
    }
    if (first || text) addNote(alert, { ...actor, at: now, action: first ? 'ack' : 'note', ...(text ? { text } : {}) });
    alert.updatedAt = now;
    this.#revision++;
    return { ...alert };
  }

  /** A note on an active or recently resolved alert ("crew on site", "part ordered"). */
  note(id: string, actor: AlertActor, text: string, now: number): Alert | 'not-found' {
    const alert = this.#active.get(id) ?? this.#history.find((a) => a.id === id);
    if (!alert) return 'not-found';
    addNote(alert, { ...actor, at: now, action: 'note', text });
    alert.updatedAt = now;
    this.#revision++;
    return { ...alert };
  }

  /** Takes over the alerts another process left (read back from the compacted alerts topic). */
  restore(alerts: Iterable<Alert>): void {
    this.#revision++;
    for (const alert of alerts) {
      if (alert.state === 'resolved') this.#remember({ ...alert });
      else this.#active.set(alert.id, { ...alert });
    }
  }

  /** What is not on the alerts topic: how long pending conditions have held and firing alerts' conditions been gone. */
  exportHolds(): EvaluatorHolds {
    return { pending: [...this.#pending].map(([id, p]) => [id, p.since]), missingSince: [...this.#missingSince] };
  }

  /**
   * Takes over another process's holds (after `restore` of its alerts): a pending condition the
   * first evaluation still sees keeps its start, a firing alert its time without its condition.
   */
  importHolds(holds: EvaluatorHolds): void {
    this.#revision++;
    this.#heldSince = new Map(holds.pending);
    for (const [id, since] of holds.missingSince) if (this.#active.has(id)) this.#missingSince.set(id, since);
  }

  /** The whole lifecycle state, pending holds included, as JSON (the embedded mode keeps it in a file across restarts). */
  exportState(): EvaluatorState {
    return {
      pending: [...this.#pending].map(([id, p]) => [id, { since: p.since, condition: p.condition }]),
      active: [...this.#active.values()].map((a) => ({ ...a })),
      missingSince: [...this.#missingSince],
      history: this.#history.map((a) => ({ ...a })),
    };
  }

  importState(state: EvaluatorState): void {
    this.#revision++;
    this.#pending.clear();
    this.#active.clear();
    this.#missingSince.clear();
    this.#history.length = 0;
    for (const [id, p] of state.pending) this.#pending.set(id, { since: p.since, condition: p.condition });
    for (const a of state.active) this.#active.set(a.id, { ...a });
    for (const [id, since] of state.missingSince) this.#missingSince.set(id, since);
    for (const a of state.history) this.#history.push({ ...a });
  }

  list(state?: AlertState): Alert[] {
    const all = [...this.#active.values(), ...this.#history];
    return (state ? all.filter((a) => a.state === state) : all).map((a) => ({ ...a }));
  }

  active(): Alert[] {
    return [...this.#active.values()];
  }

  #remember(alert: Alert): void {
    this.#revision++;
    this.#history.unshift(alert);
    if (this.#history.length > this.#historySize) this.#history.pop();
  }
}

/** Appends to the trail without touching copies already handed out (they share the old array). */
function addNote(alert: Alert, note: AlertNote): void {
  alert.notes = [...(alert.notes ?? []), note].slice(-MAX_ALERT_NOTES);
}
