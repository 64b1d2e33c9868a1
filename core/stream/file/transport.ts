import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withDefaults } from '../../defaults.js';
import { Groups, tpKey, type Group, type GroupLog } from '../groups.js';
import { partitionFor } from '../partitioner.js';
import type { Batch, Consumer, ConsumerOptions, OutgoingMessage, Producer, StreamTransport, TopicSpec } from '../types.js';
import { lockDirectory } from './lock.js';
import { FilePartition, type PartitionDamage } from './partition.js';
import { parsePositionKey, positionKey, PositionsFile, type SavedGroup } from './positions.js';
import { NODE_IO, type SegmentIo } from './segment.js';

export interface FileTransportOptions {
  /** The log's directory (the pipeline's is STATE_DIR/log). */
  dir: string;
  /** `always`: fsync before a send resolves (nothing lost on a power cut); `interval`: every `fsyncIntervalMs` (up to that much lost on a power cut; nothing on a process kill). */
  fsync?: 'always' | 'interval';
  fsyncIntervalMs?: number;
  /** Replaces every topic's own retention (TopicSpec.retentionMs) when set. */
  retentionMs?: number;
  /** Bytes kept per partition (oldest closed segments deleted beyond it). */
  retentionBytes?: number;
  segmentBytes?: number;
  /** Bytes of the newest records per partition kept in memory too, until every group reading it is past them (consumers that keep up read no file). */
  cacheBytes?: number;
  /** How often retention and compaction run (they also run when a segment is closed). */
  retentionCheckMs?: number;
  retryDelayMs?: number;
  /** Called when a batch handler throws; the batch is then delivered again after `retryDelayMs`. */
  onError?(error: unknown, batch: Batch, groupId: string): void;
  /** Called once per `ensureTopics` that found damaged segments, with all of them (the records from each damage on were dropped). */
  onRecovered?(damages: PartitionDamage[]): void;
  /** Called when an append fails (the send is refused; e.g. ENOSPC, a full disk). */
  onAppendFailed?(error: NodeJS.ErrnoException, topic: string): void;
  /** Errors of the background flush (fsync, positions file); retried at the next interval. */
  onFlushError?(error: unknown): void;
  /** File writes; tests inject a failing one. */
  io?: SegmentIo;
  now?: () => number;
}

/** The file log's defaults. */
export const FILE_TRANSPORT_DEFAULTS = {
  fsync: 'interval' as 'always' | 'interval',
  fsyncIntervalMs: 1000,
  retentionBytes: 1024 * 1024 * 1024,
  segmentBytes: 64 * 1024 * 1024,
  // A round of the processors' partials is about 2 MB at 500,000 nodes: kept until the aggregator has read it.
  cacheBytes: 8 * 1024 * 1024,
  retentionCheckMs: 60_000,
  retryDelayMs: 1000,
  io: NODE_IO,
  now: Date.now,
};

/** A topic's settings as created; undefined when missing or unreadable (then created again from the spec). */
function readTopicMeta(file: string): TopicMeta | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const meta = JSON.parse(readFileSync(file, 'utf8')) as TopicMeta;
    return Number.isInteger(meta.partitions) && meta.partitions > 0 ? meta : undefined;
  } catch {
    return undefined;
  }
}

/** Compacted topics roll segments this many times smaller, so their replaced records are dropped soon. */
const COMPACTED_SEGMENT_DIVISOR = 16;

interface TopicMeta {
  partitions: number;
  compacted: boolean;
  retentionMs?: number;
}

/**
 * The durable embedded log: the in-process log's consumer groups over segment files in a
 * directory (one folder per topic and partition), so what a send acknowledged survives a kill of
 * the process, and (LOG_FSYNC) a power cut. Committed positions are kept in `groups.json`;
 * retention by age and size; recovery at open (see FilePartition and Segment).
 */
export class FileTransport implements StreamTransport {
  readonly name = 'file';
  readonly durable = true;
  readonly stateIn = 'files' as const;
  readonly #o: typeof FILE_TRANSPORT_DEFAULTS & FileTransportOptions;
  readonly #topics = new Map<string, FilePartition[]>();
  readonly #groups: Groups;
  readonly #positions: PositionsFile;
  readonly #groupSeen = new Map<string, number>();
  readonly #release: () => void;
  #positionsDirty = false;
  #flushing: Promise<void> | null = null;
  /** Partitions with appends queued since the last write. */
  readonly #queued = new Set<FilePartition>();
  readonly #timers: NodeJS.Timeout[] = [];
  #closed = false;

  constructor(options: FileTransportOptions) {
    this.#o = { ...options, ...withDefaults(FILE_TRANSPORT_DEFAULTS, options) };
    mkdirSync(options.dir, { recursive: true });
    this.#release = lockDirectory(options.dir);
    const log: GroupLog = {
      partitions: (topic) => this.topic(topic),
      committed: (group, topic, partition) => this.#committed(group, topic, partition),
      afterMembershipChange: () => {},
      retryDelayMs: this.#o.retryDelayMs,
      onError: (error, batch, groupId) => options.onError?.(error, batch, groupId),
    };
    this.#groups = new Groups(log);
    this.#positions = new PositionsFile(options.dir);
    for (const [id, saved] of this.#positions.load(this.#o.now())) {
      const group = this.#groups.get(id);
      this.#groupSeen.set(id, saved.updatedAt);
      for (const [key, offset] of Object.entries(saved.positions)) {
        const tp = parsePositionKey(key);
        if (tp) group.committed.set(tpKey(tp.topic, tp.partition), offset);
      }
    }
    this.#timers.push(
      setInterval(() => void this.flush().catch((e: unknown) => this.#o.onFlushError?.(e)), this.#o.fsyncIntervalMs).unref(),
      setInterval(() => void this.enforceRetention().catch((e: unknown) => this.#o.onFlushError?.(e)), this.#o.retentionCheckMs).unref(),
    );
  }

  topic(name: string): FilePartition[] {
    const partitions = this.#topics.get(name);
    if (!partitions) throw new Error(`unknown topic ${name}: create it with ensureTopics first`);
    return partitions;
  }

  /** Opens each topic (recovering its segments) or creates it; an existing topic keeps its partition count. */
  async ensureTopics(specs: TopicSpec[]): Promise<void> {
    const damages: PartitionDamage[] = [];
    for (const spec of specs) {
      if (spec.partitions < 1 || !Number.isInteger(spec.partitions))
        throw new Error(`topic ${spec.name}: partitions must be a positive integer`);
      if (this.#topics.has(spec.name)) continue;
      const dir = join(this.#o.dir, encodeURIComponent(spec.name));
      const metaFile = join(dir, 'topic.json');
      let meta = readTopicMeta(metaFile);
      if (!meta) {
        meta = {
          partitions: spec.partitions,
          compacted: spec.compacted === true,
          ...(spec.retentionMs ? { retentionMs: spec.retentionMs } : {}),
        };
        mkdirSync(dir, { recursive: true });
        writeFileSync(`${metaFile}.tmp`, JSON.stringify(meta));
        renameSync(`${metaFile}.tmp`, metaFile);
      }
      const { segmentBytes, retentionBytes, cacheBytes, io } = this.#o;
      const settings = {
        segmentBytes: meta.compacted ? Math.ceil(segmentBytes / COMPACTED_SEGMENT_DIVISOR) : segmentBytes,
        retentionMs: meta.compacted ? undefined : (this.#o.retentionMs ?? meta.retentionMs),
        retentionBytes: meta.compacted ? Infinity : retentionBytes,
        compacted: meta.compacted,
        cacheBytes,
        io,
        queued: (p: FilePartition) => this.#writeSoon(p),
      };
      const partitions = Array.from({ length: meta.partitions }, (_, p) => new FilePartition(join(dir, String(p)), spec.name, p, settings));
      for (const p of partitions) damages.push(...p.damages);
      this.#topics.set(spec.name, partitions);
      // A position past the end (the tail it pointed into was damaged, or lost in a power cut):
      // from the end, so the records appended next (at those offsets again) are delivered.
      for (const group of this.#groups.all())
        partitions.forEach((p, i) => {
          const key = tpKey(spec.name, i);
          if ((group.committed.get(key) ?? 0) > p.end) group.committed.set(key, p.end);
        });
    }
    if (damages.length > 0) this.#o.onRecovered?.(damages);
  }

  /**
   * Writes the appends queued in this turn of the event loop, one write per partition, then wakes
   * their readers together. Sends arrive one publish (or a few) at a time: a write for each would
   * be a system call per reading; and a send to many partitions woke a reader at each partition's
   * write, to read that one alone (a wait on every partition and a batch per write, not one pass).
   */
  #writeSoon(partition: FilePartition): void {
    if (this.#queued.size === 0)
      setImmediate(() => {
        const partitions = [...this.#queued];
        this.#queued.clear();
        void Promise.all(partitions.map((p) => p.write())).then(() => {
          for (const p of partitions) p.notify();
        });
      });
    this.#queued.add(partition);
  }

  async partitionCount(topic: string): Promise<number> {
    return this.topic(topic).length;
  }

  async producer(): Promise<Producer> {
    return {
      send: async (topic: string, messages: OutgoingMessage[]) => {
        if (this.#closed) throw new Error('the file log is closed');
        const partitions = this.topic(topic);
        const byPartition = new Map<number, OutgoingMessage[]>();
        for (const m of messages) {
          const p = partitionFor(m.key, partitions.length);
          const list = byPartition.get(p);
          if (list) list.push(m);
          else byPartition.set(p, [m]);
        }
        // Append time, as on Kafka (see OutgoingMessage).
        const now = this.#o.now();
        const written = await Promise.allSettled([...byPartition].map(([p, list]) => partitions[p]!.append(list, now)));
        const failed = written.findIndex((w) => w.status === 'rejected');
        if (failed >= 0) {
          const p = [...byPartition.keys()][failed]!;
          const e = (written[failed] as PromiseRejectedResult).reason as NodeJS.ErrnoException;
          this.#o.onAppendFailed?.(e, topic);
          throw new Error(`file log: append to ${topic}/${p} failed: ${e.code ?? e.message}`, { cause: e });
        }
        if (this.#o.fsync === 'always') await Promise.all([...byPartition.keys()].map((p) => partitions[p]!.sync()));
      },
    };
  }

  #committed(group: Group, topic: string, partition: number): void {
    this.#groupSeen.set(group.id, this.#o.now());
    this.#positionsDirty = true;
    this.topic(topic)[partition]!.releaseCached(this.#readTo(topic, partition));
  }

  /**
   * The lowest position of the groups with members reading the topic (undefined: none reads it).
   * Cached records below it are read by no one that keeps up: kept, they would outlive young
   * collections and fill the old generation, making every mark-compact of a large heap more frequent.
   */
  #readTo(topic: string, partition: number): number | undefined {
    const key = tpKey(topic, partition);
    let lowest: number | undefined;
    for (const group of this.#groups.all()) {
      if (!group.members.some((m) => m.options.topics.includes(topic))) continue;
      const position = group.committed.get(key) ?? -1; // not yet placed: may read anything retained
      lowest = lowest === undefined ? position : Math.min(lowest, position);
    }
    return lowest;
  }

  /** Syncs every partition written since the last flush, then saves the groups' positions if they moved. */
  flush(): Promise<void> {
    this.#flushing ??= (async () => {
      try {
        for (const partitions of this.#topics.values()) for (const p of partitions) await p.sync();
        if (this.#positionsDirty) {
          this.#positionsDirty = false;
          try {
            await this.#positions.save(this.#savedGroups());
          } catch (error) {
            this.#positionsDirty = true;
            throw error;
          }
        }
      } finally {
        this.#flushing = null;
      }
    })();
    return this.#flushing;
  }

  #savedGroups(): Map<string, SavedGroup> {
    const now = this.#o.now();
    const out = new Map<string, SavedGroup>();
    for (const group of this.#groups.all()) {
      if (group.members.length > 0) this.#groupSeen.set(group.id, now);
      const positions: Record<string, number> = {};
      for (const [key, offset] of group.committed) {
        const [topic, partition] = key.split('\u0000') as [string, string];
        positions[positionKey(topic, Number(partition))] = offset;
      }
      out.set(group.id, { updatedAt: this.#groupSeen.get(group.id) ?? now, positions });
    }
    return out;
  }

  /** Deletes what is past retention in every partition and compacts the compacted topics; runs on a timer. */
  async enforceRetention(): Promise<void> {
    const now = this.#o.now();
    for (const partitions of this.#topics.values())
      for (const p of partitions) {
        p.enforceRetention(now);
        await p.compact();
      }
  }

  consume(options: ConsumerOptions): Promise<Consumer> {
    return this.#groups.join(options);
  }

  /** Stops the consumers, syncs the files and saves the positions (a failure there is reported, not thrown: the next start recovers), releases the directory. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#groups.stopAll();
    this.#closed = true;
    for (const partitions of this.#topics.values()) for (const p of partitions) await p.idle();
    for (const timer of this.#timers) clearInterval(timer);
    this.#positionsDirty = true;
    await this.flush().catch((error: unknown) => this.#o.onFlushError?.(error));
    for (const partitions of this.#topics.values())
      for (const p of partitions) {
        try {
          p.close();
        } catch (error) {
          this.#o.onFlushError?.(error);
        }
      }
    this.#release();
  }
}
