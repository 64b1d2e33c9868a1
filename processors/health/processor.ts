import type { AlertCondition, NodeHealthView, RegistryNode, TelemetryRecord } from '../../core/index.js';
import { isFresh } from '../freshness.js';
import type { EvalContext, Evaluation } from '../types.js';
import { ratio } from '../types.js';

interface Seen {
  lastSeen?: number;
  lastReceivedAt?: number;
  status?: { value: 'online' | 'offline'; at: number };
  battery?: number;
  rssi?: number;
  batteryV?: number;
}

/** Many silent nodes in one district and kind at once are one alert, not hundreds. */
export const OFFLINE_GROUP_MIN = 10;
/** Battery outliers: level (0..1) and, for parking detectors, cell voltage (critical below 2.9 V). */
const BATTERY_LOW = 0.15;
const BATTERY_V_CRITICAL = 2.9;
const SURGE_WINDOW_MS = 5 * 60_000;
const SURGE_MIN = 50;

/**
 * Node health for every kind: online = reported within its expected interval times the grace
 * factor (and not announced offline since); online ratios per kind, district and city; battery
 * outliers; surges of rejected data.
 */
export class NodeHealth {
  readonly #seen = new Map<string, Seen>();
  /** Rejections per wall-clock minute and reason (ingest health, not event time). */
  readonly #rejected = new Map<number, Map<string, number>>();

  apply(record: TelemetryRecord, now: number): void {
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

  noteRejected(reason: string, receivedAt: number): void {
    const minute = Math.floor(receivedAt / 60_000) * 60_000;
    let m = this.#rejected.get(minute);
    if (!m) this.#rejected.set(minute, (m = new Map()));
    m.set(reason, (m.get(reason) ?? 0) + 1);
  }

  online(node: RegistryNode, ctx: EvalContext): boolean {
    const s = this.#seen.get(node.nodeId);
    if (!s || s.lastSeen === undefined) return false;
    if (s.status?.value === 'offline' && s.status.at >= s.lastSeen) return false;
    return isFresh(s.lastSeen, ctx.registry.expectedIntervalS(node), ctx.config.ONLINE_GRACE_FACTOR, ctx.now);
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

  evaluate(ctx: EvalContext, wallNow: number): Evaluation {
    const conditions: AlertCondition[] = [];
    const tally = () => ({ total: 0, online: 0 });
    const city = tally();
    const byKind: Record<string, { total: number; online: number }> = {};
    const byDistrict: Record<string, { total: number; online: number }> = {};
    const silent = new Map<string, RegistryNode[]>();
    let neverSeen = 0;
    let batteryLow = 0;
    for (const node of ctx.registry.all()) {
      const s = this.#seen.get(node.nodeId);
      const online = this.online(node, ctx);
      for (const t of [city, (byKind[node.kind] ??= tally()), (byDistrict[node.district] ??= tally())]) {
        t.total++;
        if (online) t.online++;
      }
      if (!s || s.lastSeen === undefined) {
        neverSeen++;
        continue;
      }
      if (!online) {
        const key = `${node.district}\u0000${node.kind}`;
        let list = silent.get(key);
        if (!list) silent.set(key, (list = []));
        list.push(node);
      }
      const low = (s.battery !== undefined && s.battery < BATTERY_LOW) || (s.batteryV !== undefined && s.batteryV < BATTERY_V_CRITICAL);
      if (low) {
        batteryLow++;
        conditions.push({
          alertname: 'NodeBatteryLow',
          severity: 'minor',
          labels: { kind: node.kind, district: node.district, node: node.nodeId },
          summary: `node ${node.nodeId} battery low (${s.battery !== undefined ? `${Math.round(s.battery * 100)} %` : `${s.batteryV} V`})`,
          value: s.battery ?? s.batteryV,
        });
      }
    }
    // Nodes that reported once and went silent; nodes never heard from are counted, not alerted one by one.
    for (const nodes of silent.values()) {
      const { district, kind } = nodes[0]!;
      if (nodes.length >= OFFLINE_GROUP_MIN) {
        conditions.push({
          alertname: 'NodeOffline',
          severity: 'major',
          labels: { kind, district, node: '*' },
          summary: `${nodes.length} ${kind} nodes in ${district} are offline`,
          value: nodes.length,
        });
      } else {
        for (const node of nodes) {
          conditions.push({ alertname: 'NodeOffline', severity: 'minor', labels: { kind, district, node: node.nodeId }, summary: `node ${node.nodeId} is offline` });
        }
      }
    }
    // Rejected-data surge over the last five wall-clock minutes.
    const byReason = new Map<string, number>();
    for (const [minute, reasons] of this.#rejected) {
      if (minute < wallNow - SURGE_WINDOW_MS) {
        this.#rejected.delete(minute);
        continue;
      }
      for (const [reason, n] of reasons) byReason.set(reason, (byReason.get(reason) ?? 0) + n);
    }
    for (const [reason, n] of byReason) {
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
    return {
      kpis: {
        ...withRatio(city),
        neverSeen,
        batteryLow,
        byKind: Object.fromEntries(Object.entries(byKind).map(([k, t]) => [k, withRatio(t)])),
        byDistrict: Object.fromEntries(Object.entries(byDistrict).map(([k, t]) => [k, withRatio(t)])),
        rejectedLast5m: Object.fromEntries(byReason),
      },
      conditions,
    };
  }
}
