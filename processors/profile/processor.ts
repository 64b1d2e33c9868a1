import { z } from 'zod';
import type { AlertCondition, KindProfile, ProfileAlertRule, ProfileNode, ProfileNodeRow, ProfileReadingRecord } from '../../core/index.js';
import { groupLayout, LayoutCache, type GroupLayout } from '../layout.js';
import type { EvalContext, KindPartial, KindProcessor } from '../types.js';
import { holds, quotedField, renderSummary, type FieldValue } from './conditions.js';
import { addValue, emptyPart, type AggregatePart } from './tally.js';

/** One district's share of a partition: its nodes, those that reported, and each aggregate's mergeable part (by aggregate name). */
export interface ProfileDistrictPart {
  nodes: number;
  reporting: number;
  aggregates: Record<string, AggregatePart>;
}

/** A profile kind's contribution from one log partition; `ProfileMerger` turns the sections of all partitions into `ProfileKpis`. */
export interface ProfileSection {
  districts: Record<string, ProfileDistrictPart>;
  /** Rows of the nodes that meet a `count` or `timeOver` condition or have an active rule (in node-list order). */
  list: ProfileNodeRow[];
}

interface NodeState {
  /** Newest event time applied. */
  ts: number;
  /** Latest value of each field, and the event time it came with. */
  values: Record<string, FieldValue>;
  at: Record<string, number>;
  /** Start (event time) of the current run of each `timeOver` aggregate, by aggregate index; undefined: not running. */
  runs: (number | undefined)[];
  /** Since when (event time) each alert rule is active, by rule index; undefined: not active. */
  active: (number | undefined)[];
}

/** A node's state in a snapshot: names, not indexes, so a snapshot survives an edit of the profile (unknown names are dropped). */
const exportedState = z.object({
  ts: z.number(),
  values: z.record(z.string(), z.tuple([z.union([z.number(), z.boolean(), z.string()]), z.number()])),
  runs: z.record(z.string(), z.number()),
  /** Active rules (`alert/severity`) and since when. */
  rules: z.record(z.string(), z.number()),
});
type ExportedState = z.output<typeof exportedState>;

/**
 * A node list's districts, and each node's state object once it has one: at 500,000 nodes the
 * map lookup by node id was most of an evaluation. State objects are never replaced, only
 * mutated, so a found one stays valid; nodes without state are looked up again only after some
 * node got its first state (`resolved` is the processor's count of created states then).
 */
interface ListLayout {
  layout: GroupLayout<string>;
  states: (NodeState | undefined)[];
  resolved: number;
}

const ruleKey = (rule: ProfileAlertRule) => `${rule.alert}/${rule.severity}`;
const runSeconds = (start: number, now: number) => Math.max(0, now - start) / 1000;
const isFieldValue = (v: unknown): v is FieldValue => typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string';

/**
 * The stream processor of one profile kind: everything it computes follows from the profile.
 *
 * Per node it keeps the latest value of each field with the event time it came with. A reading
 * updates the fields it carries (a reading without `tiltDeg` keeps the last tilt known) and only
 * those whose value is older than it: a reading delivered out of order never overwrites newer
 * values, and one delivered twice changes nothing.
 *
 * Runs of `timeOver` conditions and alert rules move reading by reading (in log order, not on the
 * evaluation timer, so a replay reaches the same state), each time the node's values change, at
 * the node's newest event time: a run starts at the first reading meeting its condition and ends
 * at the first one that does not; a rule becomes active when its `when` holds and stays active
 * until its `clear` holds (without `clear`: until `when` no longer holds). A late reading that
 * fills in a field the newer ones did not carry moves them at the node's newest time.
 * `count`, `mean`, `min` and `max` are judged at each evaluation on the latest values against
 * the registry node as it is then (a changed attribute threshold counts at once).
 */
export class ProfileProcessor implements KindProcessor<string, ProfileSection> {
  readonly kind: string;
  readonly #profile: KindProfile;
  readonly #fields: string[];
  readonly #ruleKeys: string[];
  readonly #states = new Map<string, NodeState>();
  readonly #layouts = new LayoutCache<ListLayout>();
  /** States created so far (first reading or restore of a node). */
  #created = 0;

  constructor(profile: KindProfile) {
    this.#profile = profile;
    this.kind = profile.kind;
    this.#fields = Object.keys(profile.fields);
    this.#ruleKeys = profile.alerts.map(ruleKey);
  }

  apply(record: ProfileReadingRecord, node: ProfileNode): void {
    const r = record.reading;
    let changed = false;
    let s = this.#states.get(record.nodeId);
    if (!s) {
      s = this.#create(record.nodeId, r.ts);
      changed = true;
    }
    for (const field of this.#fields) {
      const v = r[field];
      if (!isFieldValue(v)) continue;
      const at = s.at[field];
      // Equal times keep the first: the host's dedup treats them as the same reading.
      if (at !== undefined && r.ts <= at) continue;
      s.values[field] = v;
      s.at[field] = r.ts;
      changed = true;
    }
    if (r.ts > s.ts) {
      s.ts = r.ts;
      changed = true;
    }
    if (changed) this.#advance(s, node);
  }

  #create(nodeId: string, ts: number): NodeState {
    const s: NodeState = { ts, values: {}, at: {}, runs: [], active: [] };
    this.#states.set(nodeId, s);
    this.#created++;
    return s;
  }

  /** Moves runs and rules to the node's current values, at its newest event time. */
  #advance(s: NodeState, node: ProfileNode): void {
    this.#profile.aggregates.forEach((a, k) => {
      if (a.op !== 'timeOver') return;
      if (!holds(a.when, s.values, node)) s.runs[k] = undefined;
      else if (s.runs[k] === undefined) s.runs[k] = s.ts;
    });
    this.#profile.alerts.forEach((rule, j) => {
      const since = s.active[j];
      const active = since !== undefined && rule.clear ? !holds(rule.clear, s.values, node) : holds(rule.when, s.values, node);
      s.active[j] = active ? (since ?? s.ts) : undefined;
    });
  }

  partial(nodes: readonly ProfileNode[], _ctx: EvalContext): KindPartial<ProfileSection> {
    const { aggregates, alerts } = this.#profile;
    const cached = this.#layouts.get(nodes, (list) => ({
      layout: groupLayout(
        list,
        (n) => n.district,
        (district) => district,
      ),
      states: new Array<NodeState | undefined>(list.length),
      resolved: -1,
    }));
    const { layout, states } = cached;
    if (cached.resolved !== this.#created) {
      for (let i = 0; i < nodes.length; i++) states[i] ??= this.#states.get(nodes[i]!.nodeId);
      cached.resolved = this.#created;
    }
    const tallies = layout.groups.map(() => ({ nodes: 0, reporting: 0, parts: aggregates.map(emptyPart) }));
    const list: ProfileNodeRow[] = [];
    const conditions: AlertCondition[] = [];
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i]!;
      const t = tallies[layout.groupOf[i]!]!;
      t.nodes++;
      const s = states[i];
      if (!s) continue;
      t.reporting++;
      let listed = false;
      for (let k = 0; k < aggregates.length; k++) {
        const a = aggregates[k]!;
        if (a.op === 'count') {
          if (!holds(a.when, s.values, node)) continue;
          t.parts[k] = addValue(a, t.parts[k]!, 1);
          listed = true;
        } else if (a.op === 'timeOver') {
          const start = s.runs[k];
          if (start === undefined) continue;
          t.parts[k] = addValue(a, t.parts[k]!, runSeconds(start, s.ts));
          listed = true;
        } else {
          const v = s.values[a.field];
          if (typeof v === 'number') t.parts[k] = addValue(a, t.parts[k]!, v);
        }
      }
      for (let j = 0; j < alerts.length; j++) {
        const since = s.active[j];
        if (since === undefined) continue;
        conditions.push(this.#condition(alerts[j]!, node, s, since));
        listed = true;
      }
      if (listed) list.push(this.#row(node, s));
    }
    const districts: ProfileSection['districts'] = {};
    layout.groups.forEach((district, g) => {
      const t = tallies[g]!;
      districts[district] = {
        nodes: t.nodes,
        reporting: t.reporting,
        aggregates: Object.fromEntries(aggregates.map((a, k) => [a.name, t.parts[k]!])),
      };
    });
    return { section: { districts, list }, conditions };
  }

  #condition(rule: ProfileAlertRule, node: ProfileNode, s: NodeState, since: number): AlertCondition {
    const value = s.values[quotedField(rule.when, s.values, node)];
    const condition: AlertCondition = {
      alertname: rule.alert,
      severity: rule.severity,
      holdMs: rule.holdS * 1000,
      since,
      labels: { kind: this.kind, district: node.district, node: node.nodeId },
      summary: renderSummary(rule.summary, node, value),
    };
    if (typeof value === 'number') condition.value = value;
    return condition;
  }

  /**
   * Each run measured to the node's newest reading, not to the evaluation's clock: what the data
   * shows (at least this long, as of its last report), the same in every evaluation, replay and restore.
   */
  #timeOver(s: NodeState): Record<string, number> {
    const out: Record<string, number> = {};
    this.#profile.aggregates.forEach((a, k) => {
      if (a.op === 'timeOver') out[a.name] = s.runs[k] === undefined ? 0 : runSeconds(s.runs[k], s.ts);
    });
    return out;
  }

  #activeRules(s: NodeState): string[] {
    return this.#ruleKeys.filter((_, j) => s.active[j] !== undefined);
  }

  #row(node: ProfileNode, s: NodeState): ProfileNodeRow {
    return {
      nodeId: node.nodeId,
      district: node.district,
      ts: s.ts,
      values: { ...s.values },
      timeOver: this.#timeOver(s),
      rules: this.#activeRules(s),
    };
  }

  exportNode(nodeId: string): unknown {
    const s = this.#states.get(nodeId);
    if (!s) return undefined;
    const runs: Record<string, number> = {};
    this.#profile.aggregates.forEach((a, k) => {
      if (s.runs[k] !== undefined) runs[a.name] = s.runs[k]!;
    });
    return {
      ts: s.ts,
      values: Object.fromEntries(Object.entries(s.values).map(([field, v]) => [field, [v, s.at[field]!]])),
      runs,
      rules: Object.fromEntries(this.#ruleKeys.flatMap((key, j) => (s.active[j] === undefined ? [] : [[key, s.active[j]]]))),
    } satisfies ExportedState;
  }

  /** Puts a snapshot's state back; one that does not parse (corrupt, another format) leaves the node without state rather than stop the restore. */
  importNode(nodeId: string, state: unknown): void {
    const parsed = exportedState.safeParse(state);
    if (!parsed.success) return;
    const e = parsed.data;
    const s = this.#states.get(nodeId) ?? this.#create(nodeId, e.ts);
    // Filled in place: node lists' layouts hold on to the state object.
    s.ts = e.ts;
    s.values = {};
    s.at = {};
    s.runs = [];
    for (const field of this.#fields) {
      const entry = e.values[field];
      if (!entry) continue;
      s.values[field] = entry[0];
      s.at[field] = entry[1];
    }
    this.#profile.aggregates.forEach((a, k) => {
      if (a.op === 'timeOver' && e.runs[a.name] !== undefined) s.runs[k] = e.runs[a.name];
    });
    s.active = this.#ruleKeys.map((key) => e.rules[key]);
  }

  describe(node: ProfileNode, _ctx: EvalContext): { latest?: Record<string, unknown>; derived?: Record<string, unknown> } {
    const s = this.#states.get(node.nodeId);
    if (!s) return {};
    const runSince: Record<string, number> = {};
    this.#profile.aggregates.forEach((a, k) => {
      if (s.runs[k] !== undefined) runSince[a.name] = s.runs[k]!;
    });
    return {
      latest: { ts: s.ts, ...s.values },
      derived: { rules: this.#activeRules(s), timeOver: this.#timeOver(s), runSince, valueTs: { ...s.at } },
    };
  }
}
