import { mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { changeKey, registryChangeSchema, type RegistryChange } from './change.js';

/**
 * The `registry` topic's records where the log does not outlive the process (the in-process
 * log): one JSON line per change in `STATE_DIR/registry.jsonl`, appended (and synced) before the
 * change goes on the log, compacted at start like the topic (the latest record per key, in the
 * order of those latest records).
 */
export class RegistryJournal {
  readonly file: string;

  constructor(stateDir: string) {
    this.file = join(stateDir, 'registry.jsonl');
  }

  /** The compacted records (none when there is no journal yet); the file is rewritten compacted. Lines that do not parse are skipped and counted. */
  async load(): Promise<{ changes: RegistryChange[]; skipped: number }> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { changes: [], skipped: 0 };
      throw error;
    }
    const latest = new Map<string, RegistryChange>();
    let skipped = 0;
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      let parsed;
      try {
        parsed = registryChangeSchema.safeParse(JSON.parse(line));
      } catch {
        parsed = undefined;
      }
      if (!parsed?.success) {
        skipped++; // a line cut by a crash mid-write, most likely the last
        continue;
      }
      const key = changeKey(parsed.data);
      latest.delete(key);
      latest.set(key, parsed.data);
    }
    const changes = [...latest.values()];
    await this.#rewrite(changes);
    return { changes, skipped };
  }

  /** Appends records (`texts`: their JSON, when the caller has it) and syncs them to disk: a change the API answered survives a crash. */
  async append(changes: readonly RegistryChange[], texts: readonly string[] = changes.map((c) => JSON.stringify(c))): Promise<void> {
    if (changes.length === 0) return;
    await mkdir(dirname(this.file), { recursive: true });
    const handle = await open(this.file, 'a');
    try {
      // In slices of 10,000 lines: a bulk import's 500,000 are written without stopping the event loop.
      for (let i = 0; i < texts.length; i += 10_000) await handle.write(`${texts.slice(i, i + 10_000).join('\n')}\n`);
      await handle.datasync();
    } finally {
      await handle.close();
    }
  }

  async #rewrite(changes: readonly RegistryChange[]): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    await writeFile(tmp, lines(changes));
    await rename(tmp, this.file);
  }
}

function lines(changes: readonly RegistryChange[]): string {
  let out = '';
  for (const c of changes) out += `${JSON.stringify(c)}\n`;
  return out;
}
