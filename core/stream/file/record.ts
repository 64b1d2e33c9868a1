import { crc32 } from 'node:zlib';
import type { StreamRecord } from '../types.js';

/**
 * How one record lies in a segment file:
 *
 *   u32 length of the body | u32 CRC-32 of the body | body
 *   body = f64 offset | f64 append time (epoch ms) | i32 key length (-1 = null) | key
 *          | u32 headers length (0 = none) | headers as JSON | value (the rest)
 *
 * Every record carries its own checksum, so recovery can tell a torn tail (the file ends inside a
 * record: a write cut short by a kill or a power cut) from damage (a record whose bytes changed).
 */
export const HEADER_BYTES = 8;
const FIXED_BODY_BYTES = 8 + 8 + 4 + 4;
/** A length beyond this is damage, not a record (the largest topic record is 16 MiB). */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

export type LogRecord = Omit<StreamRecord, 'topic' | 'partition'>;

/**
 * Frames records, one after the other, into one buffer of their exact size (one write for a whole
 * send; not from Node's shared pool, so a value kept as a view into it holds no more than its
 * frame); `sizes` of each frame, `values` each record's value as a view into `frames`.
 */
export function encodeRecords(records: readonly LogRecord[]): { frames: Buffer; sizes: number[]; values: Buffer[] } {
  const keys = records.map((r) => (r.key === null ? null : Buffer.from(r.key)));
  const headers = records.map((r) => (Object.keys(r.headers).length > 0 ? Buffer.from(JSON.stringify(r.headers)) : null));
  const sizes = records.map(
    (r, i) => HEADER_BYTES + FIXED_BODY_BYTES + (keys[i]?.length ?? 0) + (headers[i]?.length ?? 0) + r.value.length,
  );
  const frames = Buffer.allocUnsafeSlow(sizes.reduce((a, b) => a + b, 0));
  const values: Buffer[] = [];
  let start = 0;
  records.forEach((r, i) => {
    const key = keys[i];
    const header = headers[i];
    let p = start + HEADER_BYTES;
    p = frames.writeDoubleLE(r.offset, p);
    p = frames.writeDoubleLE(r.timestamp, p);
    p = frames.writeInt32LE(key ? key.length : -1, p);
    if (key) p += key.copy(frames, p);
    p = frames.writeUInt32LE(header?.length ?? 0, p);
    if (header) p += header.copy(frames, p);
    p += r.value.copy(frames, p);
    values.push(frames.subarray(p - r.value.length, p));
    const end = start + sizes[i]!;
    frames.writeUInt32LE(end - start - HEADER_BYTES, start);
    frames.writeUInt32LE(crc32(frames.subarray(start + HEADER_BYTES, end)), start + 4);
    start = end;
  });
  return { frames, sizes, values };
}

/** What `decodeAt` found at a position. */
export type Decoded =
  | { kind: 'record'; record: LogRecord; size: number }
  /** The buffer ends inside the record (read more, or at the file's end: a torn tail). */
  | { kind: 'partial'; needed: number }
  /** The bytes are no record: a bad checksum or an impossible length. */
  | { kind: 'damaged'; detail: string };

/** Decodes the record framed at `pos` of `buf`; `keyOnly` skips copying the value and headers (recovery, compaction). */
export function decodeAt(buf: Buffer, pos: number, keyOnly = false): Decoded {
  if (buf.length - pos < HEADER_BYTES) return { kind: 'partial', needed: HEADER_BYTES };
  const length = buf.readUInt32LE(pos);
  if (length < FIXED_BODY_BYTES || length > MAX_RECORD_BYTES) return { kind: 'damaged', detail: `impossible record length ${length}` };
  if (buf.length - pos < HEADER_BYTES + length) return { kind: 'partial', needed: HEADER_BYTES + length };
  const body = buf.subarray(pos + HEADER_BYTES, pos + HEADER_BYTES + length);
  if (crc32(body) !== buf.readUInt32LE(pos + 4)) return { kind: 'damaged', detail: 'checksum mismatch' };
  const offset = body.readDoubleLE(0);
  const timestamp = body.readDoubleLE(8);
  const keyLength = body.readInt32LE(16);
  let p = 20;
  if (keyLength > length - FIXED_BODY_BYTES) return { kind: 'damaged', detail: `impossible key length ${keyLength}` };
  const key = keyLength < 0 ? null : body.toString('utf8', p, p + keyLength);
  p += Math.max(0, keyLength);
  const headersLength = body.readUInt32LE(p);
  p += 4;
  if (p + headersLength > length) return { kind: 'damaged', detail: `impossible headers length ${headersLength}` };
  const size = HEADER_BYTES + length;
  if (keyOnly) return { kind: 'record', record: { offset, timestamp, key, value: EMPTY, headers: {} }, size };
  const headers = headersLength > 0 ? (JSON.parse(body.toString('utf8', p, p + headersLength)) as Record<string, string>) : {};
  p += headersLength;
  // A copy: the read buffer is reused, and a record may outlive it in a consumer's hands.
  return { kind: 'record', record: { offset, timestamp, key, value: Buffer.from(body.subarray(p)), headers }, size };
}

const EMPTY = Buffer.alloc(0);
