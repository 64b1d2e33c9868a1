import type { Socket } from 'node:net';

/**
 * Closes a connection whose SUBSCRIBE carries more than `maxFilters` topic filters, before the
 * parser completes that packet (so aedes never starts on it). Like the packet-size guard it wraps
 * `socket.read()` and walks the bytes as they pass: fixed headers, the protocol level of the
 * CONNECT (MQTT 5 puts properties before the filters), and the filter list of each SUBSCRIBE
 * (lengths are read, filter text skipped by count). When the limit bites, the bytes from the
 * offending filter on are withheld from the parser and the socket is destroyed.
 */
export function guardSubscribeFilters(socket: Socket, maxFilters: number, onTooMany: (filters: number) => void): void {
  let state: 'header' | 'length' | 'body' = 'header';
  let type = 0;
  let length = 0;
  let shift = 0;
  /** Body bytes of the current packet still to come. */
  let left = 0;
  let first = true;
  let v5 = false;
  // CONNECT: protocol name length (2 bytes), name, level.
  let connectPos = 0;
  let nameLength = 0;
  // SUBSCRIBE: packet id (2), MQTT 5 properties (varint length, bytes), then (length 2, filter, options 1)*.
  let sub: 'id' | 'props-length' | 'props' | 'filter-length' | 'filter' | 'options' = 'id';
  let need = 0;
  let acc = 0;
  let accShift = 0;
  let filters = 0;
  let closed = false;

  /** Walks `chunk`; returns how many bytes the parser may have (all, unless the limit bit). */
  const inspect = (chunk: Buffer): number => {
    let i = 0;
    while (i < chunk.length) {
      if (state === 'header') {
        type = chunk[i++]! >> 4;
        state = 'length';
        length = 0;
        shift = 0;
        continue;
      }
      if (state === 'length') {
        const byte = chunk[i++]!;
        length += (byte & 0x7f) * 2 ** shift;
        shift += 7;
        if (byte & 0x80 && shift < 28) continue;
        left = length;
        state = left === 0 ? 'header' : 'body';
        if (type === 1) connectPos = 0;
        if (type === 8) {
          sub = 'id';
          need = 2;
          filters = 0;
        }
        if (left === 0) first = false;
        continue;
      }
      // Body.
      if (first && type === 1) {
        const byte = chunk[i++]!;
        left--;
        if (connectPos === 0) nameLength = byte << 8;
        else if (connectPos === 1) nameLength |= byte;
        else if (connectPos === 2 + nameLength) v5 = byte === 5;
        connectPos++;
      } else if (type === 8) {
        if (sub === 'id' || sub === 'filter-length') {
          const byte = chunk[i++]!;
          left--;
          if (sub === 'filter-length') acc = (acc << 8) | byte;
          if (--need === 0) {
            if (sub === 'id') {
              sub = v5 ? 'props-length' : 'filter-length';
              acc = 0;
              accShift = 0;
              need = 2;
            } else {
              sub = 'filter';
              need = acc;
              if (need === 0) sub = 'options';
            }
          }
        } else if (sub === 'props-length') {
          const byte = chunk[i++]!;
          left--;
          acc += (byte & 0x7f) * 2 ** accShift;
          accShift += 7;
          if (!(byte & 0x80) || accShift >= 28) {
            need = acc;
            sub = need === 0 ? 'filter-length' : 'props';
            acc = 0;
            if (sub === 'filter-length') need = 2;
          }
        } else if (sub === 'props' || sub === 'filter') {
          const n = Math.min(need, chunk.length - i, left);
          need -= n;
          left -= n;
          i += n;
          if (need === 0) {
            if (sub === 'props') {
              sub = 'filter-length';
              need = 2;
              acc = 0;
            } else sub = 'options';
          }
        } else {
          // The options byte closes a filter.
          if (++filters > maxFilters) {
            closed = true;
            onTooMany(filters);
            socket.destroy();
            return i;
          }
          i++;
          left--;
          sub = 'filter-length';
          need = 2;
          acc = 0;
        }
      } else {
        const n = Math.min(left, chunk.length - i);
        left -= n;
        i += n;
      }
      if (left <= 0) {
        state = 'header';
        first = false;
      }
    }
    return chunk.length;
  };
  const read = socket.read.bind(socket);
  socket.read = ((size?: number) => {
    const chunk = read(size) as Buffer | string | null;
    if (closed) return null;
    if (chunk === null || typeof chunk === 'string') return chunk;
    const pass = inspect(chunk);
    return pass === chunk.length ? chunk : pass === 0 ? null : chunk.subarray(0, pass);
  }) as Socket['read'];
}
