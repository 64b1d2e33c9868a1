import { z } from 'zod';
import { parseJson, type AckResult, type AlertActor } from '../../core/index.js';

/**
 * What goes over `aggregator.control` besides the election itself: a crew's acknowledgement or
 * note, sent by an `api` instance that does not aggregate to the one that does, and that one's
 * answer. A request carries the time after which nobody waits for it any more (the aggregating
 * instance then drops it: a crew told "try again" must not see it done later behind its back).
 */
const actor = z.object({ by: z.string(), role: z.string() });

export const alertRequestSchema = z.object({
  type: z.enum(['ack', 'note']),
  request: z.string(),
  alertId: z.string(),
  actor,
  text: z.string().optional(),
  expiresAt: z.number(),
});
export type AlertRequest = z.infer<typeof alertRequestSchema>;

const replySchema = z.object({
  type: z.literal('reply'),
  request: z.string(),
  // The alert itself was validated by the instance that changed it.
  result: z.union([
    z.object({ ok: z.literal(true), alert: z.record(z.string(), z.unknown()) }),
    z.object({ ok: z.literal(false), error: z.string() }),
  ]),
});

export type ControlMessage = { kind: 'request'; request: AlertRequest } | { kind: 'reply'; request: string; result: AckResult } | null;

/** One record of `aggregator.control`; null for anything else (a newer version's messages, garbage). */
export function parseControl(value: Buffer): ControlMessage {
  const json = parseJson(value);
  const request = alertRequestSchema.safeParse(json);
  if (request.success) return { kind: 'request', request: request.data };
  const reply = replySchema.safeParse(json);
  if (reply.success) return { kind: 'reply', request: reply.data.request, result: reply.data.result as AckResult };
  return null;
}

export function requestRecord(request: AlertRequest) {
  return { key: request.request, value: Buffer.from(JSON.stringify(request)) };
}

export function replyRecord(request: string, result: AckResult) {
  return { key: request, value: Buffer.from(JSON.stringify({ type: 'reply', request, result })) };
}

export type { AlertActor };
