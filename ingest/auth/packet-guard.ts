import type { Socket } from 'node:net';

/**
 * Closes a connection as soon as an MQTT fixed header announces a packet larger than `maxBytes`,
 * before the parser buffers it (after a last packet, if `onTooLarge` gives one). aedes pulls bytes with `socket.read()`; the guard wraps that one
 * method and only walks the fixed headers (skipping bodies by count), so it costs next to nothing.
 *
 * The first packet of a connection (the CONNECT; anything else is refused by aedes, but only once
 * parsed) may announce at most `maxFirstBytes`: it is buffered before its credentials are checked,
 * so without this a stranger holds up to `maxBytes` per socket (200 sockets: +370 MB). aedes
 * reads nothing more from a client until its CONNECT is answered, so that bounds what any
 * unauthenticated socket costs.
 */
export function guardPacketSize(
  socket: Socket,
  maxBytes: number,
  /** Told of the oversized packet; may return a last packet for the client (MQTT 5: DISCONNECT 0x95), sent before the close. */
  onTooLarge: (announced: number, first: boolean) => Buffer | void,
  maxFirstBytes = maxBytes,
): void {
  let first = true;
  let closing = false;
  let state: 'header' | 'length' | 'body' = 'header';
  let length = 0;
  let shift = 0;
  let skip = 0;
  const inspect = (chunk: Buffer) => {
    let i = 0;
    while (i < chunk.length) {
      if (state === 'body') {
        const n = Math.min(skip, chunk.length - i);
        skip -= n;
        i += n;
        if (skip === 0) state = 'header';
      } else if (state === 'header') {
        i++;
        state = 'length';
        length = 0;
        shift = 0;
      } else {
        const byte = chunk[i++]!;
        length += (byte & 0x7f) * 2 ** shift;
        shift += 7;
        if (byte & 0x80 && shift < 28) continue;
        if (length > (first ? Math.min(maxFirstBytes, maxBytes) : maxBytes)) {
          const last = onTooLarge(length, first);
          if (!last) return void socket.destroy();
          // Nothing more is read (aedes gets no further bytes), the last words are flushed, then closed.
          closing = true;
          socket.end(last, () => socket.destroy());
          return;
        }
        first = false;
        skip = length;
        state = length === 0 ? 'header' : 'body';
      }
    }
  };
  const read = socket.read.bind(socket);
  socket.read = ((size?: number) => {
    if (closing) return null;
    const chunk = read(size) as Buffer | string | null;
    if (chunk !== null && typeof chunk !== 'string') inspect(chunk);
    return chunk;
  }) as Socket['read'];
}

/**
 * A whole packet's bytes (fixed header included) for a remaining length: what MQTT 5's Maximum
 * Packet Size counts. The guard limits the remaining length, so the broker announces this of it.
 */
export function wireSize(remaining: number): number {
  let lengthBytes = 1;
  while (lengthBytes < 4 && remaining >= 128 ** lengthBytes) lengthBytes++;
  return 1 + lengthBytes + remaining;
}
