import { connect, type Socket } from 'node:net';
import { waitFor } from './helpers.js';

/**
 * MQTT 3.1.1 (and the little of MQTT 5 the tests need) by hand, for tests that need what a client
 * library will not do: thousands of light devices at once, packets that are broken on purpose
 * (fuzzing), and exact bursts (several publishes in one write). Only what those tests use.
 */

export function encodeLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

const str = (s: string | Buffer) => {
  const b = Buffer.isBuffer(s) ? s : Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
};
const u16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};
const frame = (first: number, body: Buffer) => Buffer.concat([Buffer.from([first]), encodeLength(body.length), body]);

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
/** MQTT 5 properties: their length, then the properties. */
const properties = (...props: Buffer[]) => {
  const body = Buffer.concat(props);
  return Buffer.concat([encodeLength(body.length), body]);
};

export function connectPacket(o: {
  clientId: string;
  keepalive?: number;
  /** CleanSession (3.1.1) / Clean Start (5). */
  clean?: boolean;
  username?: string;
  password?: string;
  will?: { topic: string; payload: string };
  /** Protocol level: 4 (3.1.1, the default) or 5. */
  version?: 4 | 5;
  /** MQTT 5 Session Expiry Interval (s). */
  sessionExpiry?: number;
}): Buffer {
  const v5 = o.version === 5;
  let flags = o.clean === false ? 0 : 0x02;
  if (o.will) flags |= 0x04;
  if (o.username !== undefined) flags |= 0x80;
  if (o.password !== undefined) flags |= 0x40;
  const parts = [str('MQTT'), Buffer.from([v5 ? 5 : 4, flags]), u16(o.keepalive ?? 60)];
  if (v5) parts.push(properties(...(o.sessionExpiry !== undefined ? [Buffer.from([0x11]), u32(o.sessionExpiry)] : [])));
  parts.push(str(o.clientId));
  if (o.will) parts.push(...(v5 ? [properties()] : []), str(o.will.topic), str(o.will.payload));
  if (o.username !== undefined) parts.push(str(o.username));
  if (o.password !== undefined) parts.push(str(o.password));
  return frame(0x10, Buffer.concat(parts));
}

export function publishPacket(o: {
  topic: string;
  payload: string | Buffer;
  qos?: 0 | 1 | 2;
  id?: number;
  dup?: boolean;
  retain?: boolean;
  /** MQTT 5: a properties section after the packet id (empty, or the Topic Alias). */
  version?: 4 | 5;
  topicAlias?: number;
}): Buffer {
  const qos = o.qos ?? 0;
  const first = 0x30 | (o.dup ? 0x08 : 0) | (qos << 1) | (o.retain ? 1 : 0);
  const payload = Buffer.isBuffer(o.payload) ? o.payload : Buffer.from(o.payload, 'utf8');
  const id = qos > 0 ? u16(o.id ?? 1) : Buffer.alloc(0);
  const props = o.topicAlias !== undefined ? properties(Buffer.from([0x23]), u16(o.topicAlias)) : properties();
  return frame(first, Buffer.concat([str(o.topic), id, o.version === 5 ? props : Buffer.alloc(0), payload]));
}

/** PUBREL for a QoS 2 publish (3.1.1, and MQTT 5 with reason code 0 left out). */
export function pubrelPacket(id: number): Buffer {
  return frame(0x62, u16(id));
}

export function subscribePacket(id: number, filter: string, qos: 0 | 1 = 0, version: 4 | 5 = 4): Buffer {
  return frame(0x82, Buffer.concat([u16(id), version === 5 ? properties() : Buffer.alloc(0), str(filter), Buffer.from([qos])]));
}

export const PINGREQ = Buffer.from([0xc0, 0x00]);
export const DISCONNECT = Buffer.from([0xe0, 0x00]);

export interface Packet {
  type: number;
  flags: number;
  body: Buffer;
}

/** Splits a byte stream into MQTT packets. */
export class PacketReader {
  #buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Packet[] {
    this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
    const out: Packet[] = [];
    for (;;) {
      if (this.#buffer.length < 2) return out;
      let length = 0;
      let multiplier = 1;
      let i = 1;
      for (;;) {
        if (i >= this.#buffer.length) return out;
        const byte = this.#buffer[i++]!;
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if ((byte & 0x80) === 0) break;
        if (i > 4) throw new Error('malformed remaining length from the broker');
      }
      if (this.#buffer.length < i + length) return out;
      const first = this.#buffer[0]!;
      out.push({ type: first >> 4, flags: first & 0x0f, body: this.#buffer.subarray(i, i + length) });
      this.#buffer = this.#buffer.subarray(i + length);
    }
  }
}

/** One raw connection: everything the broker sends, in order. */
export class RawConnection {
  readonly packets: Packet[] = [];
  closed = false;
  private constructor(readonly socket: Socket) {
    const reader = new PacketReader();
    socket.on('data', (chunk: Buffer) => this.packets.push(...reader.push(chunk)));
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }
  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1' }, () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }
  send(packet: Buffer): void {
    this.socket.write(packet);
  }
  next(type: number, what: string): Promise<Packet> {
    return waitFor(() => this.packets.find((p) => p.type === type), 10_000, what);
  }
  /** The packets of a type received so far. */
  all(type: number): Packet[] {
    return this.packets.filter((p) => p.type === type);
  }
  /** CONNECT and the CONNACK's return code (MQTT 5: its reason code). */
  async connect(o: Parameters<typeof connectPacket>[0]): Promise<number> {
    this.send(connectPacket(o));
    return (await this.next(2, 'CONNACK')).body[1]!;
  }
  close(): void {
    this.socket.destroy();
  }
}

export interface RawDeviceOptions {
  port: number;
  host?: string;
  /** Source address (e.g. 127.0.0.7): devices spread over addresses, as behind many NATs. */
  localAddress?: string;
  clientId: string;
  keepalive?: number;
  /** Delay before reconnecting after the connection dropped (all devices the same: a storm). */
  reconnectMs?: number;
  /** How long to wait for CONNACK before trying again. */
  connackTimeoutMs?: number;
}

/**
 * A device in a few hundred bytes of state: connects with a persistent session, publishes at
 * QoS 1, and like a real device (and mqtt.js) reconnects after a dropped connection and resends
 * every publish not yet acknowledged. Counts its connections.
 */
export class RawDevice {
  readonly #o: RawDeviceOptions;
  #socket: Socket | null = null;
  #connected = false;
  #ending = false;
  #nextId = 1;
  readonly #unacked = new Map<number, { packet: Buffer; resolve: () => void }>();
  readonly #subacks = new Map<number, (code: number) => void>();
  #onConnect: (() => void)[] = [];
  connections = 0;
  errors = 0;
  /** The session-present flag of each accepted CONNACK, in order (the device connects with clean = false). */
  readonly sessionPresent: boolean[] = [];

  constructor(options: RawDeviceOptions) {
    this.#o = options;
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** Resolves once connected (now or after the next successful reconnect). */
  connect(): Promise<void> {
    if (this.#connected) return Promise.resolve();
    const waiting = new Promise<void>((resolve) => this.#onConnect.push(resolve));
    if (!this.#socket) this.#open();
    return waiting;
  }

  #open(): void {
    const reader = new PacketReader();
    const socket = connect({
      port: this.#o.port,
      host: this.#o.host ?? '127.0.0.1',
      ...(this.#o.localAddress ? { localAddress: this.#o.localAddress } : {}),
    });
    this.#socket = socket;
    socket.setNoDelay(true);
    const timer = setTimeout(() => socket.destroy(), this.#o.connackTimeoutMs ?? 30_000);
    socket.on('connect', () =>
      socket.write(connectPacket({ clientId: this.#o.clientId, keepalive: this.#o.keepalive ?? 60, clean: false })),
    );
    socket.on('data', (chunk: Buffer) => {
      let packets: Packet[];
      try {
        packets = reader.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const p of packets) {
        if (p.type === 2) {
          clearTimeout(timer);
          if (p.body[1] !== 0) {
            socket.destroy();
            continue;
          }
          this.#connected = true;
          this.connections++;
          this.sessionPresent.push((p.body[0]! & 0x01) === 1);
          // Resend what the last connection left unacknowledged, in order, flagged DUP.
          for (const entry of this.#unacked.values()) {
            const dup = Buffer.from(entry.packet);
            dup[0] = dup[0]! | 0x08;
            socket.write(dup);
          }
          const waiting = this.#onConnect;
          this.#onConnect = [];
          waiting.forEach((resolve) => resolve());
        } else if (p.type === 4) {
          const id = p.body.readUInt16BE(0);
          const entry = this.#unacked.get(id);
          this.#unacked.delete(id);
          entry?.resolve();
        } else if (p.type === 9) {
          const id = p.body.readUInt16BE(0);
          const resolve = this.#subacks.get(id);
          this.#subacks.delete(id);
          resolve?.(p.body[2]!);
        }
      }
    });
    socket.on('error', () => this.errors++);
    socket.on('close', () => {
      clearTimeout(timer);
      this.#connected = false;
      this.#socket = null;
      if (!this.#ending) setTimeout(() => !this.#ending && !this.#socket && this.#open(), this.#o.reconnectMs ?? 1000).unref();
    });
  }

  /** QoS 1; resolves on PUBACK. While disconnected it waits and is sent on reconnect. */
  publish(topic: string, payload: string): Promise<void> {
    const id = this.#nextId;
    this.#nextId = (this.#nextId % 65535) + 1;
    const packet = publishPacket({ topic, payload, qos: 1, id });
    return new Promise<void>((resolve) => {
      this.#unacked.set(id, { packet, resolve });
      if (this.#connected) this.#socket!.write(packet);
    });
  }

  /** SUBSCRIBE to one filter at QoS 1 on the current connection; resolves with the SUBACK's return code (0x80 = refused). */
  subscribe(filter: string): Promise<number> {
    const id = this.#nextId;
    this.#nextId = (this.#nextId % 65535) + 1;
    return new Promise<number>((resolve) => {
      this.#subacks.set(id, resolve);
      this.#socket!.write(subscribePacket(id, filter, 1));
    });
  }

  /** The network drops the connection (no DISCONNECT): the device reconnects after reconnectMs. */
  drop(): void {
    this.#socket?.destroy();
  }

  async end(): Promise<void> {
    this.#ending = true;
    const socket = this.#socket;
    if (!socket) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      if (this.#connected) socket.end(DISCONNECT);
      else socket.destroy();
    });
  }
}
