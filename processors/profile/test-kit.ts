import { readFileSync } from 'node:fs';
import { NodeRegistry, parseNode, parseProfile, type KindProfile, type ProfileNode, type ProfileReadingRecord } from '../../core/index.js';
import { config } from '../../test/fixtures.js';
import type { EvalContext } from '../types.js';
import { kindCatalog } from '../../core/kinds/modules.js';

/** Helpers for the profile processor's tests: the shipped profiles, nodes parsed as the registry parses them. */

export const T0 = Date.parse('2026-07-15T08:00:00+08:00');
export const S = 1000;

export function shippedProfile(name: 'waterlogging' | 'manhole'): KindProfile {
  const file = new URL(`../../core/kinds/profiles/${name}.yaml`, import.meta.url);
  return parseProfile(readFileSync(file, 'utf8'), file.pathname);
}

export const waterlogging = shippedProfile('waterlogging');
export const manhole = shippedProfile('manhole');
export const catalog = kindCatalog([waterlogging, manhole]);

/** A registry node of a profile kind, attributes' defaults filled as the registry fills them. */
export function profileNode(kind: string, nodeId: string, district: string, attrs: Record<string, unknown> = {}): ProfileNode {
  const parsed = parseNode({ nodeId, kind, district, lat: 36.65, lon: 117.12, ...attrs }, catalog);
  if (!parsed.success) throw new Error(`bad test node ${nodeId}: ${parsed.error.message}`);
  return parsed.data;
}

export function reading(node: ProfileNode, ts: number, fields: Record<string, unknown>): ProfileReadingRecord {
  return { type: 'reading', nodeId: node.nodeId, kind: node.kind, district: node.district, receivedAt: ts, reading: { ts, ...fields } };
}

const cfg = config();
export function ctxAt(now: number, nodes: ProfileNode[]): EvalContext {
  return { now, since: T0, config: cfg, registry: new NodeRegistry(nodes, [], catalog) };
}
