import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { parseJson } from '../../core/index.js';
import { parseSnapshot, type PartitionSnapshot, type SnapshotStore } from './snapshot.js';

let tempSeq = 0;

/** Writes a file atomically: a temp file in the same directory, fsync'd, then renamed over the target. */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  const temp = `${path}.${process.pid}.${(++tempSeq).toString(36)}.tmp`;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
}

/** Reads a JSON file; undefined when it does not exist or is not JSON. */
export async function readJsonFile(path: string): Promise<unknown> {
  try {
    return parseJson(await readFile(path));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Embedded mode: one file per raw partition in `dir` (`raw-<p>.json`), replaced atomically, so a
 * crash leaves the previous snapshot or the new one, never half of one.
 */
export class FileSnapshotStore implements SnapshotStore {
  readonly name = 'file';

  constructor(readonly dir: string) {}

  #path(partition: number): string {
    return join(this.dir, `raw-${partition}.json`);
  }

  async save(snapshots: PartitionSnapshot[]): Promise<void> {
    if (snapshots.length === 0) return;
    await mkdir(this.dir, { recursive: true });
    for (const snapshot of snapshots) await writeFileAtomic(this.#path(snapshot.partition), JSON.stringify(snapshot));
  }

  async load(partitions: number[]): Promise<Map<number, PartitionSnapshot>> {
    const out = new Map<number, PartitionSnapshot>();
    for (const p of partitions) {
      const snapshot = parseSnapshot(await readJsonFile(this.#path(p)));
      if (snapshot && snapshot.partition === p) out.set(p, snapshot);
    }
    return out;
  }
}
