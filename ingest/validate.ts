import type { z } from 'zod';
import { boundedJson } from './bounded-json.js';
import type { AnyReadingRecord, NodeRegistry, RejectReason } from '../core/index.js';

export type Verdict = { ok: true; record: AnyReadingRecord } | { ok: false; reason: RejectReason; detail: string; nodeId?: string };

/** Who a reading claims to be from: the topic for a direct publish, the batch entry for a gateway. */
export interface Addressed {
  nodeId: string;
  kind: string;
  /** Only direct publishes name a district (in the topic). */
  district?: string;
  gatewayId?: string;
}

/** A value from the payload as it appears in a detail: short, and never a throw (it may be nested thousands of levels deep). */
function shown(value: unknown): string {
  const { text, sizeCut } = boundedJson(value, 4, 64);
  return sizeCut ? `${text.slice(0, 64)}...` : text;
}

export function describeZodError(error: z.ZodError, max = 3): string {
  const parts = error.issues.slice(0, max).map((i) => `${i.path.length ? i.path.join('.') : 'payload'}: ${i.message}`);
  if (error.issues.length > max) parts.push(`and ${error.issues.length - max} more`);
  return parts.join('; ');
}

/**
 * The one place a reading is judged: the node must be registered, the topic must agree with the
 * registry (no spoofing another district or kind), a payload may not name another node, and the
 * payload must match its kind's schema.
 */
export function validateReading(
  registry: NodeRegistry,
  to: Addressed,
  payload: unknown,
  receivedAt: number,
  maxFutureSkewMs: number,
): Verdict {
  const { nodeId } = to;
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    return { ok: false, reason: 'bad-schema', detail: 'payload must be a JSON object', nodeId };
  }
  const body = payload as Record<string, unknown>;
  if (body.nodeId !== undefined && body.nodeId !== nodeId) {
    return {
      ok: false,
      reason: 'node-mismatch',
      detail: `payload names node ${shown(body.nodeId)} but was addressed to ${nodeId}`,
      nodeId,
    };
  }
  const node = registry.get(nodeId);
  if (!node) {
    if (registry.decommissioned(nodeId))
      return { ok: false, reason: 'decommissioned', detail: `node ${nodeId} has been decommissioned`, nodeId };
    return { ok: false, reason: 'unknown-node', detail: `node ${nodeId} is not in the registry`, nodeId };
  }
  if (to.gatewayId && registry.decommissionedGateway(to.gatewayId))
    return { ok: false, reason: 'decommissioned', detail: `gateway ${to.gatewayId} has been decommissioned`, nodeId };
  if (!registry.kinds.has(to.kind)) return { ok: false, reason: 'unknown-kind', detail: `unknown kind ${shown(to.kind)}`, nodeId };
  if (to.kind !== node.kind || (to.district !== undefined && to.district !== node.district)) {
    const claimed = to.district !== undefined ? `${to.district}/${to.kind}` : to.kind;
    return {
      ok: false,
      reason: 'topic-mismatch',
      detail: `node ${nodeId} is registered as ${node.district}/${node.kind}, not ${claimed}`,
      nodeId,
    };
  }
  if (body.kind !== undefined && body.kind !== node.kind) {
    return {
      ok: false,
      reason: 'node-mismatch',
      detail: `payload kind ${shown(body.kind)} does not match node ${nodeId} (${node.kind})`,
      nodeId,
    };
  }
  // The reading schemas strip keys they do not know (nodeId and kind of a batch entry among them): no copy needed.
  const parsed = registry.kinds.get(node.kind)!.reading.safeParse(body);
  if (!parsed.success)
    return { ok: false, reason: 'bad-schema', detail: `${node.kind} reading: ${describeZodError(parsed.error)}`, nodeId };
  if (parsed.data.ts > receivedAt + maxFutureSkewMs) {
    const ahead = Math.round((parsed.data.ts - receivedAt) / 1000);
    return {
      ok: false,
      reason: 'bad-timestamp',
      detail: `ts ${new Date(parsed.data.ts).toISOString()} is ${ahead} s ahead of the broker clock (max ${maxFutureSkewMs / 1000} s)`,
      nodeId,
    };
  }
  const record = {
    type: 'reading',
    nodeId,
    kind: node.kind,
    district: node.district,
    receivedAt,
    ...(to.gatewayId ? { gatewayId: to.gatewayId } : {}),
    reading: parsed.data,
  } as AnyReadingRecord;
  return { ok: true, record };
}
