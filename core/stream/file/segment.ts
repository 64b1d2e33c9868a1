import { closeSync, fdatasync, fstatSync, ftruncateSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { decodeAt, encodeRecords, type LogRecord } from './record.js';

/** The file operations a segment writes with; tests inject a failing `write` (a full disk) or a watched `datasync`. */
export interface SegmentIo {
  /** write(2); resolves with the bytes written. */
  write(fd: number, buffer: Buffer, offset: number, length: number): Promise<number>;
  /** fdatasync(2), off the event loop. */
  datasync(fd: number): Promise<void>;
}

const fdatasyncAsync = promisify(fdatasync);

/**
 * Writes on the event loop: a write(2) into the page cache takes microseconds, and one per
 * partition per turn of the loop (see FileTransport) costs a fraction of handing each to libuv's
 * thread pool and back (a request, two thread wake-ups, a callback, a promise). fdatasync, which
 * waits for the disk, stays off the loop. The reads of the files are synchronous too.
 */
export const NODE_IO: SegmentIo = {
  write: (fd, buffer, offset, length) => {
    try {
      return Promise.resolve(writeSync(fd, buffer, offset, length, null));
    } catch (error) {
      return Promise.reject(error);
    }
  },
  datasync: (fd) => fdatasyncAsync(fd),
};

/** An index entry every this many bytes of a segment: a seek reads at most this much before the wanted record. */
const INDEX_INTERVAL_BYTES = 64 * 1024;
const READ_CHUNK_BYTES = 256 * 1024;

export const segmentName = (base: number) => `${String(base).padStart(20, '0')}.log`;
export const SEGMENT_FILE = /^(\d{20})\.log$/;
/** Suffix of a compaction's temporary file (a leftover one is from a crash mid-compaction: deleted at start). */
export const COMPACTING = '.compacting';

/** What a scan of a segment file found past its last whole record. */
export interface SegmentDamage {
  /** `torn`: the file ends inside a record; `checksum`: a record's bytes do not match its checksum (or cannot be a record). */
  reason: 'torn' | 'checksum';
  /** Byte position of the first bad byte, and the bytes from there to the end (dropped). */
  position: number;
  droppedBytes: number;
  detail: string;
}

/**
 * One segment file of a partition: records appended at its end, never changed in place. It keeps
 * in memory a sparse index (offset -> byte position, one entry per 64 KiB) for seeks, the offset
 * range it holds and its newest append time (retention by age).
 */
export class Segment {
  readonly path: string;
  size = 0;
  /** First and last offset held; undefined while empty. */
  first: number | undefined;
  last: number | undefined;
  maxTimestamp = 0;
  records = 0;
  readonly #index: number[] = [];
  #indexedAt = -Infinity;
  #fd: number;

  constructor(
    readonly dir: string,
    /** The offset its first record has or will have (its name). */
    readonly base: number,
    readonly io: SegmentIo = NODE_IO,
  ) {
    this.path = join(dir, segmentName(base));
    this.#fd = openSync(this.path, 'a+');
  }

  get fd(): number {
    return this.#fd;
  }

  /** The offset after its last record. */
  get next(): number {
    return this.last === undefined ? this.base : this.last + 1;
  }

  /**
   * Reads the whole file, checking every record: the index, range and sizes are rebuilt from the
   * records; everything from the first bad byte on is cut off the file and reported.
   */
  recover(onRecord?: (record: LogRecord) => void): SegmentDamage | undefined {
    const fileSize = fstatSync(this.#fd).size;
    let damage: SegmentDamage | undefined;
    let expected = this.base;
    this.#scan(
      0,
      fileSize,
      true,
      (record, position, size) => {
        if (record.offset < expected) {
          damage = { reason: 'checksum', position, droppedBytes: 0, detail: `offset ${record.offset} out of order` };
          return false;
        }
        expected = record.offset + 1;
        this.#noteAppended(record, position, size);
        onRecord?.(record);
        return true;
      },
      (position, why) => {
        damage = { reason: why.kind === 'partial' ? 'torn' : 'checksum', position, droppedBytes: 0, detail: why.detail };
      },
    );
    if (!damage && this.size < fileSize)
      damage = { reason: 'torn', position: this.size, droppedBytes: 0, detail: 'file ends inside a record' };
    if (damage) {
      damage.droppedBytes = fileSize - damage.position;
      ftruncateSync(this.#fd, damage.position);
    }
    return damage;
  }

  /** Appends framed records (offsets from `next` on; one append at a time); on a failed write the file is cut back to where it was and the error thrown. */
  async append(frames: Buffer, records: readonly LogRecord[], sizes: readonly number[]): Promise<void> {
    const before = this.size;
    try {
      for (let done = 0; done < frames.length;) done += await this.io.write(this.#fd, frames, done, frames.length - done);
    } catch (error) {
      // A partial write would be a torn record in the middle of the log once the next write succeeds.
      try {
        ftruncateSync(this.#fd, before);
      } catch {
        // Recovery at the next start cuts a torn tail off anyway.
      }
      throw error;
    }
    let position = before;
    records.forEach((r, i) => {
      this.#noteAppended(r, position, sizes[i]!);
      position += sizes[i]!;
    });
  }

  #noteAppended(record: LogRecord, position: number, size: number): void {
    if (position - this.#indexedAt >= INDEX_INTERVAL_BYTES) {
      this.#index.push(record.offset, position);
      this.#indexedAt = position;
    }
    this.first ??= record.offset;
    this.last = record.offset;
    this.maxTimestamp = Math.max(this.maxTimestamp, record.timestamp);
    this.records++;
    this.size = position + size;
  }

  /** Up to `max` records with offsets in [from, until), found through the index. */
  read(from: number, max: number, until: number): LogRecord[] {
    const out: LogRecord[] = [];
    this.#scan(this.#seek(from), this.size, false, (record) => {
      if (record.offset >= until) return false;
      if (record.offset >= from) out.push(record);
      return out.length < max;
    });
    return out;
  }

  /** Every record, in order (compaction). */
  forEach(visit: (record: LogRecord) => void, keyOnly = false): void {
    this.#scan(0, this.size, keyOnly, (record) => {
      visit(record);
      return true;
    });
  }

  /** Byte position of the last indexed record at or before `offset`. */
  #seek(offset: number): number {
    let lo = 0;
    let hi = this.#index.length / 2 - 1;
    let position = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.#index[mid * 2]! <= offset) {
        position = this.#index[mid * 2 + 1]!;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return position;
  }

  /** Decodes records from `start` to `end` in chunks; stops when `visit` says so or at a bad record. */
  #scan(
    start: number,
    end: number,
    keyOnly: boolean,
    visit: (record: LogRecord, position: number, size: number) => boolean,
    onBad?: (position: number, why: { kind: 'partial' | 'damaged'; detail: string }) => void,
  ): void {
    let chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK_BYTES, Math.max(0, end - start)));
    let position = start;
    while (position < end) {
      const want = Math.min(chunk.length, end - position);
      const got = readSync(this.#fd, chunk, 0, want, position);
      if (got === 0) return;
      const view = chunk.subarray(0, got);
      let p = 0;
      for (;;) {
        const decoded = decodeAt(view, p, keyOnly);
        if (decoded.kind === 'record') {
          if (!visit(decoded.record, position + p, decoded.size)) return;
          p += decoded.size;
          continue;
        }
        if (decoded.kind === 'damaged') {
          onBad?.(position + p, { kind: 'damaged', detail: decoded.detail });
          return;
        }
        // Partial: at the end of the file a torn tail; else read on from this record with room for it.
        if (position + p + decoded.needed > end) {
          if (position + p < end) onBad?.(position + p, { kind: 'partial', detail: 'file ends inside a record' });
          return;
        }
        if (decoded.needed > chunk.length) chunk = Buffer.allocUnsafe(decoded.needed);
        break;
      }
      position += p;
    }
  }

  /**
   * Compaction: rewrites the file with only the records `keep` accepts (offsets unchanged), through
   * a temporary file written and fsync'd without blocking, then renamed over it, so a crash leaves
   * one or the other whole. `swap` gets the rewritten segment (null: nothing left, file deleted)
   * in the same turn as the rename, so no read meets the closed file; not called when nothing is dropped.
   */
  async compact(keep: (record: LogRecord) => boolean, swap: (rewritten: Segment | null) => void): Promise<void> {
    const survivors: LogRecord[] = [];
    this.forEach((r) => void (keep(r) && survivors.push(r)));
    if (survivors.length === this.records) return;
    if (survivors.length === 0) {
      this.delete();
      return swap(null);
    }
    const temp = `${this.path}${COMPACTING}`;
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(encodeRecords(survivors).frames);
      await handle.sync();
    } finally {
      await handle.close();
    }
    this.close();
    renameSync(temp, this.path);
    const rewritten = new Segment(this.dir, this.base, this.io);
    rewritten.recover();
    swap(rewritten);
  }

  close(): void {
    closeSync(this.#fd);
  }

  /** Closes and deletes the file (retention). */
  delete(): void {
    this.close();
    unlinkSync(this.path);
  }
}
