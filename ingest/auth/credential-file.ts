import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { credentialsToJson, CredentialsError, parseCredentials, provision, type CredentialEntry, type Principal } from './credentials.js';
import type { DeviceSecret } from './provision-file.js';

/**
 * The MQTT credentials file (MQTT_CREDENTIALS) changed one entry at a time, for the registry API:
 * issue (a new entry, or a new secret for an existing one: rotation) and revoke (`disabled`, kept
 * so it is never re-issued by `city-brain credentials`). Hashes only in the file; a new secret is
 * returned once. Writes are atomic (temporary file, rename) and one at a time; `written` runs after
 * each (the broker of this process reloads at once; one elsewhere re-reads the file within 5 s).
 */
export class CredentialFile {
  #turn: Promise<unknown> = Promise.resolve();

  constructor(
    readonly file: string,
    private readonly written: () => Promise<unknown> = async () => undefined,
  ) {}

  /** Fresh secrets for these principals, replacing any entry they had (a revoked one is enabled again with the new secret). */
  issue(principals: readonly Principal[]): Promise<DeviceSecret[]> {
    return this.#change(async (entries) => {
      const { entries: fresh, secrets } = await provision(principals);
      for (const entry of fresh) entries.set(entry.id, entry);
      return secrets.map((s) => ({ type: s.type, id: s.id, username: s.id, password: s.password }));
    });
  }

  /** Disables an entry; false when there is none for the id. */
  revoke(id: string): Promise<boolean> {
    return this.#change(async (entries) => {
      const entry = entries.get(id);
      if (!entry) return false;
      entries.set(id, { ...entry, disabled: true });
      return true;
    });
  }

  #change<T>(edit: (entries: Map<string, CredentialEntry>) => Promise<T>): Promise<T> {
    const run = this.#turn.then(async () => {
      const entries = new Map((await this.#read()).map((e) => [e.id, e]));
      const result = await edit(entries);
      const tmp = `${this.file}.${randomBytes(4).toString('hex')}.tmp`;
      await writeFile(tmp, credentialsToJson([...entries.values()]), { mode: 0o600 });
      await rename(tmp, this.file);
      await this.written();
      return result;
    });
    this.#turn = run.catch(() => undefined);
    return run;
  }

  async #read(): Promise<CredentialEntry[]> {
    return readFile(this.file, 'utf8').then(
      (text) => parseCredentials(text, this.file),
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return [];
        throw new CredentialsError(`credentials file ${this.file}: cannot read: ${error.code ?? error.message}`);
      },
    );
  }
}
