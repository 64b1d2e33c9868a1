import { readFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';

/** A group with no member that has not committed for this long is forgotten (Kafka's offsets.retention.minutes default). */
export const GROUP_EXPIRY_MS = 7 * 86_400_000;

export interface SavedGroup {
  /** When the group last committed or had members (epoch ms). */
  updatedAt: number;
  /** Committed offset per `topic/partition`. */
  positions: Record<string, number>;
}

/** Where a partition's committed position is kept in the file. */
export const positionKey = (topic: string, partition: number) => `${topic}/${partition}`;

export function parsePositionKey(key: string): { topic: string; partition: number } | undefined {
  const slash = key.lastIndexOf('/');
  const partition = Number(key.slice(slash + 1));
  return slash > 0 && Number.isInteger(partition) ? { topic: key.slice(0, slash), partition } : undefined;
}

/**
 * The consumer groups' committed positions, in `groups.json` of the log directory, replaced
 * atomically (temp file, fsync, rename). Saved on the flush timer, not on every commit: after a
 * crash a group resumes from where it was up to one interval earlier and gets those batches again
 * (at-least-once, as the contract allows; the processors recognise a reading delivered twice).
 */
export class PositionsFile {
  readonly path: string;

  constructor(dir: string) {
    this.path = join(dir, 'groups.json');
  }

  /** The saved groups still within GROUP_EXPIRY_MS of `now`; none if the file is missing or unreadable. */
  load(now: number): Map<string, SavedGroup> {
    let parsed: { groups?: Record<string, SavedGroup> };
    try {
      parsed = JSON.parse(readFileSync(this.path, 'utf8')) as typeof parsed;
    } catch {
      return new Map(); // missing (first start) or cut short by a power cut before its rename: groups start over
    }
    const out = new Map<string, SavedGroup>();
    for (const [id, group] of Object.entries(parsed.groups ?? {}))
      if (typeof group?.updatedAt === 'number' && now - group.updatedAt < GROUP_EXPIRY_MS && group.positions) out.set(id, group);
    return out;
  }

  async save(groups: Map<string, SavedGroup>): Promise<void> {
    const temp = `${this.path}.tmp`;
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(JSON.stringify({ version: 1, groups: Object.fromEntries(groups) }));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, this.path);
  }
}
