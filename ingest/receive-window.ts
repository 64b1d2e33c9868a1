import type { Client } from 'aedes';

interface Open {
  qos1: number;
  /** Packet ids of QoS 2 publishes answered with PUBREC and waiting for their PUBREL. */
  qos2: Set<number>;
}

/**
 * MQTT 5 Receive Maximum, enforced (aedes 2.0.0-beta.1 only announces it): per client, the QoS 1
 * and 2 publishes the broker has not finished with. A QoS 1 publish is open until it is answered
 * (PUBACK, after the log append), a QoS 2 one until its PUBREL arrives (the PUBCOMP follows at once)
 * or a PUBREC with a failure code ends it. A client that sends one more while it has `max` open has
 * broken the limit the CONNACK announced and is disconnected with 0x93 (MQTT-3.3.4-9). A QoS 2
 * publish sent again (same packet id) takes no second slot.
 */
export class ReceiveWindow {
  readonly #open = new WeakMap<Client, Open>();
  constructor(readonly max: number) {}

  /** Takes a slot for the publish; false (and nothing taken) when the client has `max` open already. */
  open(client: Client, packet: { qos: number; messageId?: number | undefined }): boolean {
    let open = this.#open.get(client);
    if (!open) this.#open.set(client, (open = { qos1: 0, qos2: new Set() }));
    if (packet.qos === 2 && open.qos2.has(packet.messageId!)) return true;
    if (open.qos1 + open.qos2.size >= this.max) return false;
    if (packet.qos === 2) open.qos2.add(packet.messageId!);
    else open.qos1++;
    return true;
  }

  /** A QoS 1 publish answered, or a QoS 2 one ended by a failure PUBREC. */
  answered(client: Client, packet: { qos: number; messageId?: number | undefined }): void {
    const open = this.#open.get(client);
    if (!open) return;
    if (packet.qos === 2) open.qos2.delete(packet.messageId!);
    else if (open.qos1 > 0) open.qos1--;
  }

  /** The PUBREL of a QoS 2 publish arrived. */
  released(client: Client, messageId: number): void {
    this.#open.get(client)?.qos2.delete(messageId);
  }
}
