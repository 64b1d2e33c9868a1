import { z } from 'zod';

/** What one node's state snapshot holds: its kind processor's state, its health and its dedup memory (each only when there is some). */
export interface NodeSnapshot {
  k?: unknown;
  h?: unknown;
  d?: unknown;
}

/**
 * The state of the nodes of one raw partition at one point of its log: everything a processor
 * needs to go on from `offset` as if it had read the partition from the beginning.
 */
export interface PartitionSnapshot {
  version: 1;
  /** Raw partition and the partition count it was taken with (node placement depends on it). */
  partition: number;
  partitions: number;
  /** First offset the snapshot does NOT cover: a restore rebuilds from here. */
  offset: number;
  /** Newest event time seen on the partition (its watermark is this minus the allowed lateness). */
  maxTs: number | null;
  /** Event time of the first reading the writing process saw (silence is judged from there). */
  since: number | null;
  /** Wall clock when taken. */
  takenAt: number;
  nodes: Record<string, NodeSnapshot>;
}

const nodeSchema = z.object({ k: z.unknown().optional(), h: z.unknown().optional(), d: z.unknown().optional() });

export const partitionSnapshotSchema = z.object({
  version: z.literal(1),
  partition: z.number().int().nonnegative(),
  partitions: z.number().int().positive(),
  offset: z.number().int().nonnegative(),
  maxTs: z.number().nullable(),
  since: z.number().nullable(),
  takenAt: z.number(),
  nodes: z.record(z.string(), nodeSchema),
});

/** Where snapshots go: a compacted topic on Kafka, files in the embedded mode. */
export interface SnapshotStore {
  readonly name: string;
  /** Writes the snapshots; resolves once they are durable (fsync'd file renamed / acknowledged by Kafka). */
  save(snapshots: PartitionSnapshot[]): Promise<void>;
  /** The newest complete snapshot of each asked partition that has one. */
  load(partitions: number[]): Promise<Map<number, PartitionSnapshot>>;
}

/** Parses a stored snapshot; undefined (never a throw) for anything that is not one. */
export function parseSnapshot(value: unknown): PartitionSnapshot | undefined {
  const parsed = partitionSnapshotSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}
