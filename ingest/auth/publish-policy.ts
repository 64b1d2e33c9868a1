import type { NodeRegistry } from '../../core/index.js';
import { parseTopic } from '../topics.js';
import type { Principal } from './credentials.js';

export type PublishDecision =
  | {
      allowed: true;
      /** For a gateway batch: why an entry's node is not this gateway's, or undefined. */ refuseEntry?: (
        nodeId: string,
      ) => string | undefined;
    }
  | { allowed: false; detail: string; nodeId?: string };

/**
 * Who may publish where. A device: only its own `city/{district}/{kind}/{nodeId}/telemetry|status`
 * (the node id level is the identity; a wrong district or kind is then judged by validation as
 * topic-mismatch). A gateway: its own `city/gateways/{id}/batch`, with only entries for nodes the
 * registry places behind it, and the telemetry/status topics of those nodes (e.g. their last will).
 */
export function publishPolicy(registry: NodeRegistry) {
  return (principal: Principal, topic: string): PublishDecision => {
    const target = parseTopic(topic, registry.kinds);
    if ('reason' in target)
      return { allowed: false, detail: `${principal.type} ${principal.id} may not publish to ${clip(topic)} (${target.reason})` };
    if (target.type === 'batch') {
      if (principal.type !== 'gateway' || target.gatewayId !== principal.id) {
        return { allowed: false, detail: `${principal.type} ${principal.id} may not publish batches of gateway ${target.gatewayId}` };
      }
      const gatewayId = principal.id;
      return {
        allowed: true,
        refuseEntry: (nodeId) => {
          const node = registry.get(nodeId);
          // An unknown node is left to validation (unknown-node); a known one must be behind this gateway.
          return node && node.gatewayId !== gatewayId
            ? `gateway ${gatewayId} may not carry node ${nodeId} (registered behind ${node.gatewayId ?? 'no gateway'})`
            : undefined;
        },
      };
    }
    if (principal.type === 'device' && target.nodeId === principal.id) return { allowed: true };
    if (principal.type === 'gateway' && registry.get(target.nodeId)?.gatewayId === principal.id) return { allowed: true };
    return { allowed: false, detail: `${principal.type} ${principal.id} may not publish for node ${target.nodeId}`, nodeId: target.nodeId };
  };
}

function clip(s: string): string {
  return JSON.stringify(s.length > 120 ? `${s.slice(0, 120)}...` : s);
}
