import type { Client, ConnectPacket } from 'aedes';
import { generate, writeToStream } from 'mqtt-packet';
import type { RejectReason } from '../core/index.js';

/** MQTT 5 reason codes of a PUBACK/PUBREC that refuses a publish (MQTT 5.0 §3.4.2.1). */
export const PUBACK = {
  NOT_AUTHORIZED: 0x87,
  TOPIC_NAME_INVALID: 0x90,
  QUOTA_EXCEEDED: 0x97,
  PAYLOAD_FORMAT_INVALID: 0x99,
} as const;

/** The dead-letter reasons ingest gives (`late` is the processors'). */
export type IngestRejectReason = Exclude<RejectReason, 'late'>;

/**
 * The one mapping from a dead-letter reason to the reason code and reason string an MQTT 5
 * publisher gets (the README's "MQTT contract" has it as a table). The string is fixed per reason:
 * the dead letter keeps the detail, which may name registry entries the device has no business
 * learning. There is no 0x95 (packet too large) among PUBACK codes; a payload over our limits is
 * 0x97 quota exceeded.
 */
export const REJECTION_CODES: Record<IngestRejectReason, { code: number; text: string }> = {
  'bad-topic': { code: PUBACK.TOPIC_NAME_INVALID, text: 'not a City Brain topic' },
  'unknown-kind': { code: PUBACK.TOPIC_NAME_INVALID, text: 'unknown kind' },
  'unknown-node': { code: PUBACK.TOPIC_NAME_INVALID, text: 'node not registered' },
  'bad-json': { code: PUBACK.PAYLOAD_FORMAT_INVALID, text: 'payload is not JSON' },
  'bad-schema': { code: PUBACK.PAYLOAD_FORMAT_INVALID, text: 'payload does not match its kind' },
  'bad-timestamp': { code: PUBACK.PAYLOAD_FORMAT_INVALID, text: 'ts too far ahead of the broker clock' },
  'too-large': { code: PUBACK.QUOTA_EXCEEDED, text: 'payload or batch over the size limit' },
  'topic-mismatch': { code: PUBACK.NOT_AUTHORIZED, text: 'topic does not match the node registration' },
  'node-mismatch': { code: PUBACK.NOT_AUTHORIZED, text: 'payload speaks for another node or kind' },
  unauthorized: { code: PUBACK.NOT_AUTHORIZED, text: 'not authorized for this topic or node' },
  decommissioned: { code: PUBACK.NOT_AUTHORIZED, text: 'node or gateway decommissioned' },
};

/** v5 clients that asked for no Reason String (Request Problem Information = 0, MQTT-3.1.2-29). */
const quiet = new WeakSet<Client>();

/** Called with every CONNECT (preConnect): remembers whether the client wants reason strings. */
export function noteConnect(client: Client, packet: ConnectPacket): void {
  if (packet.properties?.requestProblemInformation === false) quiet.add(client);
}

/**
 * Refuses an MQTT 5 QoS 1/2 publish with the reason code of `reason`: PUBACK (QoS 1) or PUBREC
 * (QoS 2; a failure code ends the exchange, no PUBREL follows), written here because aedes 2 only
 * knows 0x87. The packet is then marked the way aedes 2.0.0-beta.1 marks a publish it refused
 * itself (`_notAuthorized`): it neither acknowledges it again nor publishes it (not forwarded, not
 * retained). A QoS 0 publish has no acknowledgement to carry a code; it is only marked.
 */
export function refusePublish(client: Client, packet: { qos: number; messageId?: number | undefined }, reason: IngestRejectReason): void {
  (packet as { _notAuthorized?: boolean })._notAuthorized = true;
  if (packet.qos === 0) return;
  const { code, text } = REJECTION_CODES[reason];
  writeToStream(
    {
      cmd: packet.qos === 1 ? 'puback' : 'pubrec',
      messageId: packet.messageId,
      reasonCode: code,
      ...(quiet.has(client) ? {} : { properties: { reasonString: `${reason}: ${text}` } }),
    },
    client.conn,
    { protocolVersion: 5 },
  );
}

/** An MQTT 5 DISCONNECT with a reason code, as bytes (for a connection closed below aedes, on the raw socket). */
export function disconnectPacket(reasonCode: number): Buffer {
  return generate({ cmd: 'disconnect', reasonCode }, { protocolVersion: 5 });
}
