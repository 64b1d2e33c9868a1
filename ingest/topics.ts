import type { KindCatalog } from '../core/index.js';

/** What an MQTT topic addresses, parsed from the fixed topic contract. */
export type ParsedTopic =
  | { type: 'telemetry'; district: string; kind: string; nodeId: string }
  | { type: 'status'; district: string; kind: string; nodeId: string }
  | { type: 'batch'; gatewayId: string };

export type TopicError = { reason: 'bad-topic' | 'unknown-kind'; detail: string };

const LEVEL = /^[A-Za-z0-9._:-]{1,64}$/;
const DISTRICT = /^[A-Za-z0-9 ._-]{1,64}$/;

/**
 * `city/{district}/{kind}/{nodeId}/telemetry`, `city/{district}/{kind}/{nodeId}/status`,
 * `city/gateways/{gatewayId}/batch`.
 */
export function parseTopic(topic: string, kinds: Pick<KindCatalog, 'has'>): ParsedTopic | TopicError {
  const parts = topic.split('/');
  if (parts[0] !== 'city') return { reason: 'bad-topic', detail: `topic must start with city/ (got ${clip(topic)})` };
  if (parts.length === 4 && parts[1] === 'gateways' && parts[3] === 'batch') {
    const gatewayId = parts[2]!;
    if (!LEVEL.test(gatewayId)) return { reason: 'bad-topic', detail: `invalid gateway id in ${clip(topic)}` };
    return { type: 'batch', gatewayId };
  }
  if (parts.length !== 5 || (parts[4] !== 'telemetry' && parts[4] !== 'status')) {
    return {
      reason: 'bad-topic',
      detail: `expected city/{district}/{kind}/{nodeId}/telemetry|status or city/gateways/{id}/batch (got ${clip(topic)})`,
    };
  }
  const [, district, kind, nodeId, leaf] = parts as [string, string, string, string, 'telemetry' | 'status'];
  if (!DISTRICT.test(district)) return { reason: 'bad-topic', detail: `invalid district level in ${clip(topic)}` };
  if (!LEVEL.test(nodeId)) return { reason: 'bad-topic', detail: `invalid node id level in ${clip(topic)}` };
  if (!kinds.has(kind)) return { reason: 'unknown-kind', detail: `unknown kind ${clip(kind)} in ${clip(topic)}` };
  return { type: leaf, district, kind, nodeId };
}

function clip(s: string): string {
  return JSON.stringify(s.length > 120 ? `${s.slice(0, 120)}...` : s);
}
