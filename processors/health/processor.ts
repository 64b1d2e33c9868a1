import type { AlertCondition, NodeHealthView, NodeRegistry, RegistryNode, TelemetryRecord } from '../../core/index.js';
import { ChangeLog, IncrementalList, type Judgement } from '../incremental.js';
import { groupLayout, LayoutCache, type GroupLayout } from '../layout.js';
import { isFresh } from '../freshness.js';
import type { EvalContext, Evaluation, KindPartial } from '../types.js';
import { appendAll, ratio } from '../types.js';
import type { NodeHealthKpis } from './kpis.js';

interface Seen {
  lastSeen?: number;
  lastReceivedAt?: number;
  status?: { value: 'online' | 'offline'; at: number };
  battery?: number;
  rssi?: number;
  batteryV?: number;
}

export interface HealthSection {
  /** `${district}|${kind}` -> counts. */
  tallies: Record<string, { district: string; kind: string; total: number; online: number; neverSeen: number; batteryLow: number }>;
  /** Silent nodes per `${district}|${kind}`: the count and the first few ids. */
  silent: Record<string, { count: number; nodes: string[] }>;
}
export interface RejectionSection {
  rejected: Record<string, number>;
}

/** Many silent nodes in one district and kind at once are one alert, not hundreds. */
export const OFFLINE_GROUP_MIN = 10;
/** Battery outliers: level (0..1) and, for parking detectors, cell voltage (critical below 2.9 V). */
const BATTERY_LOW = 0.15;
const BATTERY_V_CRITICAL = 2.9;
const SURGE_WINDOW_MS = 5 * 60_000;
const SURGE_MIN = 50;

/** Reported within its interval x grace, and not announced offline since. */
function isOnline(s: Seen, intervalS: number, graceFactor: number, now: number): boolean {
  if (s.lastSeen === undefined) return false;
  if (s.status?.value === 'offline' && s.status.at >= s.lastSeen) return false;
  return isFresh(s.lastSeen, intervalS, graceFactor, now);
}

/** Judgement of one node: 0 never seen, 2 online, 4 silent; +1 when its battery is low (not for never seen). */
const NEVER = 0;
const ONLINE = 2;
const SILENT = 4;

/**
 * One node list's health tallies, kept current incrementally: per `${district}|${kind}` group the
 * nodes never seen, online and silent, and battery outliers.
 */
class HealthTallies {
  readonly layout: GroupLayout<{ key: string; district: string; kind: string }>;
  readonly total: Int32Array;
  readonly counts: Int32Array[];
  readonly silent: Set<number>[];
  readonly low = new Set<number>();
  readonly list: IncrementalList<number, EvalContext>;

  constructor(
    nodes: readonly RegistryNode[],
    registry: NodeRegistry,
    log: ChangeLog,
    judge: (node: RegistryNode, intervalS: number, at: EvalContext) => Judgement<number>,
  ) {
    this.layout = groupLayout(
      nodes,
      (n) => `${n.district}|${n.kind}`,
      (key, n) => ({ key, district: n.district, kind: n.kind }),
    );
    const groups = this.layout.groups.length;
    this.total = new Int32Array(groups);
    for (const g of this.layout.groupOf) this.total[g]!++;
    // Indexed by judgement: never seen, online, silent (low battery counted apart).
    this.counts = [NEVER, ONLINE, SILENT].map(() => new Int32Array(groups));
    this.silent = this.layout.groups.map(() => new Set<number>());
    const intervalS = Float64Array.from(nodes, (n) => registry.expectedIntervalS(n));
    const { groupOf } = this.layout;
    const count = (i: number, value: number, by: 1 | -1) => {
      const state = value >> 1;
      this.counts[state]![groupOf[i]!]! += by;
      const set = by > 0 ? 'add' : 'delete';
      if (value === SILENT || value === SILENT + 1) this.silent[groupOf[i]!]![set](i);
      if (value & 1) this.low[set](i);
    };
    this.list = new IncrementalList(
      nodes.map((n) => n.nodeId),
      log,
      {
        judge: (i, at) => judge(nodes[i]!, intervalS[i]!, at),
        add: (i, value) => count(i, value, 1),
        remove: (i, value) => count(i, value, -1),
        reset: () => {
          for (const c of this.counts) c.fill(0);
          for (const set of this.silent) set.clear();
          this.low.clear();
        },
      },
    );
  }
}

/** The `n` smallest of a set of node positions, ascending (the first in list order). */
function firstOf(set: Set<number>, n: number): number[] {
  if (set.size <= n) return [...set].sort((a, b) => a - b);
  const out: number[] = [];
  for (const i of set) {
    if (out.length === n && i >= out[n - 1]!) continue;
    let at = out.length === n ? n - 1 : out.length;
    while (at > 0 && out[at - 1]! > i) {
      out[at] = out[at - 1]!;
      at--;
    }
    out[at] = i;
  }
  return out;
}

/**
 * Node health for every kind: online = reported within its expected interval times the grace
 * factor (and not announced offline since); online ratios per kind, district and city; battery
 * outliers; surges of rejected data.
 */
export class NodeHealth {
  readonly #seen = new Map<string, Seen>();
  /** Nodes whose health state changed, for the incremental tallies. */
  readonly #changes = new ChangeLog();
  readonly #tallies = new LayoutCache<HealthTallies>();
  /**
   * Rejections per dead-letter partition, wall-clock minute and reason (ingest health, not event
   * time). Kept per partition because each partition's partial carries only its own: the
   * aggregator sums the partials.
   */
  readonly #rejected = new Map<number, Map<number, Map<string, number>>>();

  apply(record: TelemetryRecord, now: number): void {
    this.#changes.note(record.nodeId);
    let s = this.#seen.get(record.nodeId);
    if (!s) this.#seen.set(record.nodeId, (s = {}));
    if (record.type === 'status') {
      s.status = { value: record.status, at: now };
      if (record.status === 'online') s.lastSeen = Math.max(s.lastSeen ?? 0, now);
      return;
    }
    const r = record.reading as { ts: number; battery?: number; rssi?: number; batteryV?: number };
    if (s.lastSeen === undefined || r.ts >= s.lastSeen) {
      s.lastSeen = r.ts;
      s.lastReceivedAt = record.receivedAt;
      if (r.battery !== undefined) s.battery = r.battery;
      if (r.rssi !== undefined) s.rssi = r.rssi;
      if (r.batteryV !== undefined) s.batteryV = r.batteryV;
    }
  }

  /** One node's health state for a state snapshot (undefined when never heard from). */
  exportNode(nodeId: string): unknown {
    const s = this.#seen.get(nodeId);
    return s && { ...s };
  }

  importNode(nodeId: string, state: unknown): void {
    this.#changes.note(nodeId);
    this.#seen.set(nodeId, { ...(state as Seen) });
  }

  noteRejected(partition: number, reason: string, receivedAt: number): void {
    const minute = Math.floor(receivedAt / 60_000) * 60_000;
    let minutes = this.#rejected.get(partition);
    if (!minutes) this.#rejected.set(partition, (minutes = new Map<number, Map<string, number>>()));
    let m = minutes.get(minute);
    if (!m) minutes.set(minute, (m = new Map<string, number>()));
    m.set(reason, (m.get(reason) ?? 0) + 1);
  }

  /** A dead-letter partition handed to another instance: its counts go with it (rebuilt there from the log). */
  forgetRejections(partition: number): void {
    this.#rejected.delete(partition);
  }

  online(node: RegistryNode, ctx: EvalContext): boolean {
    const s = this.#seen.get(node.nodeId);
    return s !== undefined && isOnline(s, ctx.registry.expectedIntervalS(node), ctx.config.ONLINE_GRACE_FACTOR, ctx.now);
  }

  view(node: RegistryNode, ctx: EvalContext): NodeHealthView {
    const s = this.#seen.get(node.nodeId);
    const online = this.online(node, ctx);
    return {
      online,
      lastSeen: s?.lastSeen ?? null,
      lastReceivedAt: s?.lastReceivedAt ?? null,
      status: s?.lastSeen === undefined ? 'never-seen' : online ? 'online' : 'offline',
      ...(s?.battery !== undefined ? { battery: s.battery } : {}),
      ...(s?.rssi !== undefined ? { rssi: s.rssi } : {}),
    };
  }

  /** A node's health judgement at `now`, and until when it holds (an online node goes silent when its report goes stale). */
  #judge(node: RegistryNode, intervalS: number, { now, config }: EvalContext): Judgement<number> {
    const graceFactor = config.ONLINE_GRACE_FACTOR;
    const s = this.#seen.get(node.nodeId);
    if (!s || s.lastSeen === undefined) return { value: NEVER, until: Infinity };
    const low =
      (s.battery !== undefined && s.battery < BATTERY_LOW) || (s.batteryV !== undefined && s.batteryV < BATTERY_V_CRITICAL) ? 1 : 0;
    if (isOnline(s, intervalS, graceFactor, now)) return { value: ONLINE + low, until: s.lastSeen + intervalS * graceFactor * 1000 };
    return { value: SILENT + low, until: Infinity };
  }

  partial(nodes: readonly RegistryNode[], ctx: EvalContext): KindPartial<HealthSection> {
    const t = this.#tallies.get(
      nodes,
      (list) => new HealthTallies(list, ctx.registry, this.#changes, (node, intervalS, at) => this.#judge(node, intervalS, at)),
    );
    t.list.update(ctx, String(ctx.config.ONLINE_GRACE_FACTOR));
    const section: HealthSection = { tallies: {}, silent: {} };
    const { groups } = t.layout;
    const [never, online, silent] = t.counts as [Int32Array, Int32Array, Int32Array];
    const lowByGroup = new Int32Array(groups.length);
    const lowNodes = [...t.low].sort((a, b) => a - b);
    for (const i of lowNodes) lowByGroup[t.layout.groupOf[i]!]!++;
    for (let g = 0; g < groups.length; g++) {
      const { key, district, kind } = groups[g]!;
      section.tallies[key] = { district, kind, total: t.total[g]!, online: online[g]!, neverSeen: never[g]!, batteryLow: lowByGroup[g]! };
      // Nodes that reported once and went silent: counted, and the first few named (nodes never heard from are only counted).
      if (silent[g]! > 0)
        section.silent[key] = { count: silent[g]!, nodes: firstOf(t.silent[g]!, OFFLINE_GROUP_MIN).map((i) => nodes[i]!.nodeId) };
    }
    const conditions: AlertCondition[] = lowNodes.map((i) => {
      const node = nodes[i]!;
      const s = this.#seen.get(node.nodeId)!;
      return {
        alertname: 'NodeBatteryLow',
        severity: 'minor',
        labels: { kind: node.kind, district: node.district, node: node.nodeId },
        summary: `node ${node.nodeId} battery low (${s.battery !== undefined ? `${Math.round(s.battery * 100)} %` : `${s.batteryV} V`})`,
        value: s.battery ?? s.batteryV,
      };
    });
    return { section, conditions };
  }

  /** Rejections per reason over the last five wall-clock minutes (of the dead-letter partitions this instance reads). */
  rejections(partition: number, wallNow: number): RejectionSection {
    const rejected: Record<string, number> = {};
    const minutes = this.#rejected.get(partition) ?? new Map<number, Map<string, number>>();
    for (const [minute, reasons] of minutes) {
      if (minute < wallNow - SURGE_WINDOW_MS) {
        minutes.delete(minute);
        continue;
      }
      for (const [reason, n] of reasons) rejected[reason] = (rejected[reason] ?? 0) + n;
    }
    return { rejected };
  }
}

/** Online ratios per kind, district and city; silent nodes alerted singly or, when many, per district and kind; rejection surges. */
export class HealthMerger {
  merge(sections: HealthSection[], rejections: RejectionSection[], _ctx: EvalContext): Evaluation {
    const conditions: AlertCondition[] = [];
    const tally = () => ({ total: 0, online: 0 });
    const city = tally();
    const byKind: Record<string, { total: number; online: number }> = {};
    const byDistrict: Record<string, { total: number; online: number }> = {};
    const silent = new Map<string, { district: string; kind: string; count: number; nodes: string[] }>();
    let neverSeen = 0;
    let batteryLow = 0;
    for (const s of sections) {
      for (const [key, t] of Object.entries(s.tallies)) {
        neverSeen += t.neverSeen;
        batteryLow += t.batteryLow;
        for (const agg of [city, (byKind[t.kind] ??= tally()), (byDistrict[t.district] ??= tally())]) {
          agg.total += t.total;
          agg.online += t.online;
        }
        const off = s.silent[key];
        if (off) {
          const m = silent.get(key) ?? { district: t.district, kind: t.kind, count: 0, nodes: [] };
          m.count += off.count;
          appendAll(m.nodes, off.nodes);
          silent.set(key, m);
        }
      }
    }
    for (const g of [...silent.values()].sort((a, b) => `${a.district}|${a.kind}`.localeCompare(`${b.district}|${b.kind}`))) {
      if (g.count >= OFFLINE_GROUP_MIN) {
        conditions.push({
          alertname: 'NodeOffline',
          severity: 'major',
          labels: { kind: g.kind, district: g.district, node: '*' },
          summary: `${g.count} ${g.kind} nodes in ${g.district} are offline`,
          value: g.count,
        });
      } else {
        for (const node of g.nodes.sort())
          conditions.push({
            alertname: 'NodeOffline',
            severity: 'minor',
            labels: { kind: g.kind, district: g.district, node },
            summary: `node ${node} is offline`,
          });
      }
    }
    const byReason: Record<string, number> = {};
    for (const r of rejections) for (const [reason, n] of Object.entries(r.rejected)) byReason[reason] = (byReason[reason] ?? 0) + n;
    for (const [reason, n] of Object.entries(byReason)) {
      if (n >= SURGE_MIN) {
        conditions.push({
          alertname: 'DataRejectedSurge',
          severity: 'major',
          labels: { kind: 'pipeline', district: 'all', reason },
          summary: `${n} messages rejected as ${reason} in the last 5 minutes`,
          value: n,
        });
      }
    }
    const withRatio = (t: { total: number; online: number }) => ({ ...t, offline: t.total - t.online, ratio: ratio(t.online, t.total) });
    const sorted = (o: Record<string, { total: number; online: number }>) =>
      Object.fromEntries(
        Object.entries(o)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, t]) => [k, withRatio(t)]),
      );
    return {
      kpis: {
        ...withRatio(city),
        neverSeen,
        batteryLow,
        byKind: sorted(byKind),
        byDistrict: sorted(byDistrict),
        rejectedLast5m: byReason,
      } satisfies NodeHealthKpis,
      conditions,
    };
  }
}
