import { fsyncSync, mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import type { GroupPartition } from '../groups.js';
import type { OutgoingMessage, StreamRecord } from '../types.js';
import { encodeRecords } from './record.js';
import { COMPACTING, Segment, SEGMENT_FILE, type SegmentDamage, type SegmentIo } from './segment.js';

export interface PartitionSettings {
  /** A segment is closed and a new one begun once it holds this many bytes. */
  segmentBytes: number;
  /** Closed segments whose newest record is older than this are deleted; undefined = kept (compacted topics). */
  retentionMs: number | undefined;
  /** Closed segments are deleted, oldest first, while the partition holds more than this. */
  retentionBytes: number;
  /** Keep only the latest record per key: closed segments are rewritten without the records a later one replaced. */
  compacted: boolean;
  /** Newest records kept in memory as well, so consumers that keep up read no file. */
  cacheBytes: number;
  io: SegmentIo;
  /** Called when an append is queued: the transport then writes (`write`) the queued appends of every partition soon and wakes their readers (`notify`) together. */
  queued(partition: FilePartition): void;
}

/** Index of the segment that holds `offset` in `segments` (in offset order): the last one whose base is not above it. */
function segmentHolding(segments: readonly Segment[], offset: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (segments[mid]!.base <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Damage found in one segment at start. */
export interface PartitionDamage extends SegmentDamage {
  topic: string;
  partition: number;
  segment: string;
}

/**
 * One partition of the file log: a directory of segment files named by their first offset, the
 * last one written to. An append resolves once written (write(2)); `sync` makes the writes
 * survive a power cut. Only the newest records not yet read (up to `cacheBytes`) and a sparse index
 * stay in memory.
 */
export class FilePartition implements GroupPartition {
  readonly #segments: Segment[] = [];
  readonly #cache: StreamRecord[] = [];
  /** Frame size of each cached record; their sum. */
  readonly #cacheSizes: number[] = [];
  #cacheBytes = 0;
  /** Compacted topics: the offset of each key's latest record. */
  readonly #latest = new Map<string | null, number>();
  #wakers = new Set<() => void>();
  #dirty = false;
  /** Segments closed since the last sync, with writes the sync has yet to make durable. */
  readonly #unsynced: Segment[] = [];
  #compacting: Promise<void> | null = null;
  /** Appends waiting for the write in progress (`#writing`). */
  readonly #queue: { messages: readonly OutgoingMessage[]; timestamp: number; resolve: () => void; reject: (e: unknown) => void }[] = [];
  #writing: Promise<void> | null = null;
  readonly damages: PartitionDamage[] = [];

  constructor(
    readonly dir: string,
    readonly topic: string,
    readonly partition: number,
    readonly settings: PartitionSettings,
  ) {
    mkdirSync(dir, { recursive: true });
    const bases: number[] = [];
    for (const file of readdirSync(dir)) {
      if (file.endsWith(COMPACTING)) unlinkSync(`${dir}/${file}`); // a compaction cut short: the original is still there
      const match = SEGMENT_FILE.exec(file);
      if (match) bases.push(Number(match[1]));
    }
    bases.sort((a, b) => a - b);
    for (const base of bases) {
      const segment = new Segment(dir, base, settings.io);
      const damage = segment.recover(settings.compacted ? (r) => this.#latest.set(r.key, r.offset) : undefined);
      if (damage) this.damages.push({ ...damage, topic, partition, segment: segment.path });
      if (segment.records === 0 && base !== bases[bases.length - 1]) segment.delete();
      else this.#segments.push(segment);
    }
    if (this.#segments.length === 0) this.#segments.push(new Segment(dir, 0, settings.io));
  }

  get #active(): Segment {
    return this.#segments[this.#segments.length - 1]!;
  }

  get base(): number {
    const first = this.#segments[0]!;
    return first.first ?? first.next;
  }

  get end(): number {
    return this.#active.next;
  }

  /** Records kept in memory (the newest, up to `cacheBytes` of their frames). */
  get cachedRecords(): number {
    return this.#cache.length;
  }

  /** Bytes held on disk. */
  get bytes(): number {
    return this.#segments.reduce((sum, s) => sum + s.size, 0);
  }

  /**
   * Queues the messages as the next records; resolves once written (`write`, called by the
   * transport), rejects (nothing of them appended) if the write fails, e.g. ENOSPC. Appends queued
   * until the write, or while one is in progress, go out together (one write(2) for many sends),
   * in the order they arrived.
   */
  append(messages: readonly OutgoingMessage[], timestamp: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ messages, timestamp, resolve, reject });
      this.settings.queued(this);
    });
  }

  /** Writes the queued appends (joins the write in progress, which takes them too). Never rejects: each append's promise says. */
  write(): Promise<void> {
    return (this.#writing ??= this.#drain());
  }

  /** Resolves once every append made so far is written (or refused). */
  async idle(): Promise<void> {
    while (this.#writing || this.#queue.length > 0) await this.write();
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#queue.length);
        try {
          await this.#write(batch);
          for (const b of batch) b.resolve();
        } catch (error) {
          for (const b of batch) b.reject(error);
        }
      }
    } finally {
      this.#writing = null;
    }
  }

  async #write(appends: readonly { messages: readonly OutgoingMessage[]; timestamp: number }[]): Promise<void> {
    let offset = this.end;
    const { topic, partition } = this;
    const records: StreamRecord[] = appends.flatMap(({ messages, timestamp }) =>
      messages.map((m) => ({ topic, partition, offset: offset++, timestamp, key: m.key, value: m.value, headers: m.headers ?? {} })),
    );
    const timestamp = appends[appends.length - 1]!.timestamp;
    const { frames, sizes, values } = encodeRecords(records);
    if (this.#active.size > 0 && this.#active.size + frames.length > this.settings.segmentBytes) this.#roll(timestamp);
    await this.#active.append(frames, records, sizes);
    this.#dirty = true;
    records.forEach((r, i) => {
      // The cached value is a view into the written frames: the caller's buffer (often a slice of
      // Node's shared 8 KiB pool) is not held.
      r.value = values[i]!;
      this.#cache.push(r);
      this.#cacheSizes.push(sizes[i]!);
      this.#cacheBytes += sizes[i]!;
      if (this.settings.compacted) this.#latest.set(r.key, r.offset);
    });
    this.#evict();
  }

  /** Drops the cached records below `offset` (every reading group is past them); undefined: no group reads, the cache keeps its bound. */
  releaseCached(offset: number | undefined): void {
    const first = this.#cache[0];
    if (offset === undefined || !first || offset <= first.offset) return;
    const drop = Math.min(offset - first.offset, this.#cache.length); // the cache holds consecutive offsets
    for (let i = 0; i < drop; i++) this.#cacheBytes -= this.#cacheSizes[i]!;
    this.#cache.splice(0, drop);
    this.#cacheSizes.splice(0, drop);
  }

  /** Past `cacheBytes`, drops the oldest cached records down to three quarters of it (in bulk: the array is not shifted on every append); the newest stays. */
  #evict(): void {
    if (this.#cacheBytes <= this.settings.cacheBytes) return;
    let drop = 0;
    while (this.#cacheBytes > (this.settings.cacheBytes * 3) / 4 && drop < this.#cache.length - 1)
      this.#cacheBytes -= this.#cacheSizes[drop++]!;
    this.#cache.splice(0, drop);
    this.#cacheSizes.splice(0, drop);
  }

  /** Closes the active segment (synced at the next `sync`, off the event loop) and begins a new one. */
  #roll(now: number): void {
    const closing = this.#active;
    try {
      this.#segments.push(new Segment(this.dir, this.end, this.settings.io));
    } catch {
      return; // no room for a new file: the active segment grows on (an append that also fails is refused)
    }
    if (this.#dirty) this.#unsynced.push(closing);
    this.#dirty = false;
    this.enforceRetention(now);
  }

  read(from: number, max: number, until: number): { records: StreamRecord[]; next: number } {
    from = Math.max(from, this.base);
    until = Math.min(until, this.end);
    if (from >= until) return { records: [], next: from };
    const cached = this.#cache[0];
    if (cached && from >= cached.offset) {
      const start = from - cached.offset; // the cache holds consecutive offsets
      const records = this.#cache.slice(start, start + Math.min(max, until - from));
      return { records, next: from + records.length };
    }
    const i = segmentHolding(this.#segments, from);
    const segment = this.#segments[i]!;
    const found = segment.read(from, max, until);
    if (found.length === 0) return { records: [], next: Math.min(until, this.#segments[i + 1]?.base ?? this.end) };
    const records = found.map((r) => ({ ...r, topic: this.topic, partition: this.partition }));
    return { records, next: found[found.length - 1]!.offset + 1 };
  }

  /** Makes what was written survive a power cut (fdatasync of the active segment). */
  async sync(): Promise<void> {
    // Segments closed since the last sync first (one deleted by retention meanwhile needs none).
    for (const closed of this.#unsynced.splice(0)) if (this.#segments.includes(closed)) await this.settings.io.datasync(closed.fd);
    if (!this.#dirty) return;
    this.#dirty = false;
    try {
      await this.settings.io.datasync(this.#active.fd);
    } catch (error) {
      this.#dirty = true;
      throw error;
    }
  }

  /** Deletes closed segments past the retention (age, then size); compacted topics are compacted instead (`compact`). */
  enforceRetention(now: number): void {
    if (this.settings.compacted) return;
    const { retentionMs, retentionBytes } = this.settings;
    let bytes = this.bytes;
    while (this.#segments.length > 1) {
      const oldest = this.#segments[0]!;
      const expired = retentionMs !== undefined && oldest.maxTimestamp < now - retentionMs;
      if (!expired && bytes <= retentionBytes) break;
      bytes -= oldest.size;
      oldest.delete();
      this.#segments.shift();
    }
  }

  /** Compacted topics: rewrites each closed segment that holds records a later record of the same key replaced. One at a time. */
  compact(): Promise<void> {
    if (!this.settings.compacted) return Promise.resolve();
    this.#compacting ??= (async () => {
      try {
        const closed = this.#segments.slice(0, -1);
        const latest = this.#latestPerSegment(closed);
        for (const [i, segment] of closed.entries()) {
          // Every record still its key's latest: nothing to drop, and no need to read it (a large
          // registry would otherwise be decoded whole at every pass).
          if (latest[i] === segment.records) continue;
          if (latest[i] === 0) {
            // Every record in it was replaced: deleted without reading it.
            segment.delete();
            this.#segments.splice(this.#segments.indexOf(segment), 1);
            continue;
          }
          await segment.compact(
            (r) => this.#latest.get(r.key) === r.offset,
            (rewritten) => {
              const i = this.#segments.indexOf(segment);
              if (rewritten) this.#segments[i] = rewritten;
              else this.#segments.splice(i, 1);
            },
          );
        }
      } finally {
        this.#compacting = null;
      }
    })();
    return this.#compacting;
  }

  /** How many keys' latest records lie in each of `segments` (in offset order): one pass over the keys. */
  #latestPerSegment(segments: readonly Segment[]): number[] {
    const counts = segments.map(() => 0);
    if (segments.length === 0) return counts;
    for (const offset of this.#latest.values()) {
      const i = segmentHolding(segments, offset);
      const segment = segments[i]!;
      if (segment.first !== undefined && offset >= segment.first && offset <= segment.last!) counts[i]!++;
    }
    return counts;
  }

  notify(): void {
    for (const wake of this.#wakers) wake();
    this.#wakers.clear();
  }

  changed(): Promise<void> {
    return new Promise((resolve) => this.#wakers.add(resolve));
  }

  close(): void {
    for (const closed of this.#unsynced.splice(0)) if (this.#segments.includes(closed)) fsyncSync(closed.fd);
    fsyncSync(this.#active.fd);
    for (const segment of this.#segments) segment.close();
  }
}
