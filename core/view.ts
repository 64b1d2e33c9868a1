import type { Alert, AlertActor, AlertState } from './alerts.js';
import type { Kind, SectionOf } from './kinds/index.js';
import type { RegistryNode } from './registry/index.js';

/** Top-level KPI document served at /api/v1/kpis: one section per kind (named in KINDS), and node health. */
export type Kpis = { evaluatedAt: number; nodes: Record<string, unknown> } & { [K in Kind as SectionOf<K>]: Record<string, unknown> } & {
  /** Profile kinds' sections, under the kind's name. */
  [section: string]: unknown;
};

export interface NodeHealthView {
  online: boolean;
  lastSeen: number | null;
  lastReceivedAt: number | null;
  status: 'online' | 'offline' | 'never-seen';
  battery?: number;
  rssi?: number;
}

export interface NodeView {
  node: RegistryNode;
  health: NodeHealthView;
  /** The latest accepted reading and what the node's processor derived from it. */
  latest?: Record<string, unknown>;
  derived?: Record<string, unknown>;
}

export interface NodeQuery {
  kind?: string;
  district?: string;
  status?: 'online' | 'offline';
  limit: number;
  offset: number;
}

export type PipelineEvent =
  | { type: 'kpis'; kpis: Kpis }
  | { type: 'alert'; alert: Alert }
  | { type: 'reading'; nodeId: string; kind: string; district: string; ts: number };

/** `unavailable`: no instance aggregates right now (one is taking over); the change was not made, try again. */
export type AckResult = { ok: true; alert: Alert } | { ok: false; error: 'not-found' | 'not-active' | 'unavailable' };

/** What the API reads: the processors' current state, whichever process holds it. */
export interface PipelineView {
  ready(): boolean;
  kpis(): Kpis;
  nodes(query: NodeQuery): { total: number; items: NodeView[] };
  node(nodeId: string): NodeView | undefined;
  alerts(state?: AlertState): Alert[];
  acknowledge(alertId: string, actor: AlertActor, note?: string): Promise<AckResult>;
  note(alertId: string, actor: AlertActor, text: string): Promise<AckResult>;
  subscribe(listener: (event: PipelineEvent) => void): () => void;
}
